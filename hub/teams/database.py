"""Opening one of the team app's SQLite files: private, WAL, waiting on a busy writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_database(
    path: Path, schema: str, *, durable: bool = False, private: bool = True
) -> sqlite3.Connection:
    """The file at ``path``, created with ``schema`` if it is new.

    ``private`` creates the file mode 0600 before SQLite opens it (SQLite gives its
    ``-wal`` and ``-shm`` files the same mode); ``durable`` syncs every commit to disk
    (``synchronous=FULL``). The connection autocommits and may be used from any thread.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if private:
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    if durable:
        db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    return db
