"""Agency checks (DESIGN.md section 17): sealing, deadlines, the writer and the open index.

The team app asks (:mod:`hub.teams.checks`), the partner ingest answers
(:mod:`hub.ingest.checks`); both use the pieces here. docs/checks.md tells the story.
"""
