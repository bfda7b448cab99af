"""The team app's record of its agency checks: what it asked, and the answers that came.

Two tables, each written idempotently by check id: ``asked`` (one row per check, from
the ask handler once Kafka committed, and again from ``hub.checks`` by the consumer, so
a crash between the two loses nothing) and ``answers`` (from ``hub.check-responses``;
the first answer of a check is kept, a replayed or duplicate one is ignored). Answers
are stored sealed for the area, and opened only when a page or the API shows them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

from hub.teams.database import open_database
from schemas.checks import CheckAnswered, CheckPartner, CheckRequested, CheckStatus, Urgency

_SCHEMA = """
CREATE TABLE IF NOT EXISTS asked (
    check_id TEXT PRIMARY KEY,
    area TEXT NOT NULL,
    message_id TEXT NOT NULL,
    partner TEXT NOT NULL,
    urgency TEXT NOT NULL,
    asked_by TEXT NOT NULL,
    asked_at TEXT NOT NULL,
    due_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS asked_by_message ON asked (area, message_id);
CREATE TABLE IF NOT EXISTS answers (
    check_id TEXT PRIMARY KEY,
    answered_at TEXT NOT NULL,
    record TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredCheck:
    """One check as the asking area knows it; ``answer`` is the sealed answer, if any."""

    check_id: UUID
    area: str
    message_id: UUID
    partner: CheckPartner
    urgency: Urgency
    asked_by: str
    asked_at: datetime
    due_by: datetime
    answer: CheckAnswered | None

    def status(self, now: datetime) -> CheckStatus:
        """open, answered, or overdue (open past its deadline)."""
        if self.answer is not None:
            return CheckStatus.ANSWERED
        return CheckStatus.OVERDUE if now >= self.due_by else CheckStatus.OPEN


class CheckStore:
    """The checks of one team instance (SQLite, WAL, synchronous)."""

    def __init__(self, path: Path) -> None:
        self._db = open_database(path, _SCHEMA, durable=True, private=False)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def add_request(self, request: CheckRequested) -> bool:
        """Keep a check asked; False when it was known already."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO asked VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(request.check_id),
                    request.area.value,
                    str(request.message_id),
                    request.partner.value,
                    request.urgency.value,
                    request.asked_by,
                    request.asked_at.isoformat(),
                    request.due_by.isoformat(),
                ),
            )
        return cursor.rowcount == 1

    def add_answer(self, answered: CheckAnswered) -> bool:
        """Keep a check's first answer; False when it had one already."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO answers VALUES (?, ?, ?)",
                (
                    str(answered.check_id),
                    answered.answered_at.isoformat(),
                    answered.model_dump_json(),
                ),
            )
        return cursor.rowcount == 1

    def for_message(self, area: str, message_id: UUID) -> list[StoredCheck]:
        """The checks asked about one message, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a.check_id, a.area, a.message_id, a.partner, a.urgency, a.asked_by,"
                " a.asked_at, a.due_by, r.record FROM asked a"
                " LEFT JOIN answers r ON r.check_id = a.check_id"
                " WHERE a.area = ? AND a.message_id = ? ORDER BY a.asked_at, a.partner",
                (area, str(message_id)),
            ).fetchall()
        return [_stored(row) for row in rows]

    def counts(self) -> tuple[int, int]:
        """How many checks were asked, and how many answered (tests and /health)."""
        with self._lock:
            asked = self._db.execute("SELECT count(*) FROM asked").fetchone()[0]
            answered = self._db.execute("SELECT count(*) FROM answers").fetchone()[0]
        return int(asked), int(answered)


def _stored(row: tuple[object, ...]) -> StoredCheck:
    record = row[8]
    return StoredCheck(
        check_id=UUID(str(row[0])),
        area=str(row[1]),
        message_id=UUID(str(row[2])),
        partner=CheckPartner(str(row[3])),
        urgency=Urgency(str(row[4])),
        asked_by=str(row[5]),
        asked_at=datetime.fromisoformat(str(row[6])),
        due_by=datetime.fromisoformat(str(row[7])),
        answer=CheckAnswered.model_validate_json(str(record)) if record is not None else None,
    )
