"""The team queue: where practitioners work their area's routed messages (``hub teams serve``).

One process serves one or more areas. Per area, a FastStream subscriber reads
``route.<area>`` (and nothing else) into a local SQLite queue (:mod:`hub.teams.store`),
committing each offset only once the row is stored. Practitioners sign in to the web
pages (:mod:`hub.teams.pages`), case-management systems call the JSON API
(:mod:`hub.teams.api`); both see only their own area. Content stays encrypted at rest
and is opened with the area's key only when someone reads it
(:mod:`hub.teams.content`). A recorded decision is produced to ``team.outcomes``
(:mod:`hub.teams.outcomes`) and then marked decided locally. ``docs/teams.md`` has the
screens, the API and the security model.
"""
