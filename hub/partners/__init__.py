"""Pages for partner staff without a system: answer agency checks in a browser.

Served by the ingest (``hub connectors serve``) at ``/partners/<partner>/checks``, with
per-person accounts (``hub partners add-user <partner> NAME``) and the team app's rules.
"""
