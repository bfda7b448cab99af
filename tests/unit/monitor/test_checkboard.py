"""The monitor's view of agency checks: open and overdue, response times, overdue rate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hub.monitor.checkboard import CheckBoard
from hub.monitor.metrics import METRICS
from schemas.checks import CheckPartner, Urgency

ASKED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def request(partner: str, urgency: str, due_h: float) -> tuple[bytes, uuid.UUID]:
    check_id = uuid.uuid4()
    value = (
        f'{{"check_id":"{check_id}","partner":"{partner}","urgency":"{urgency}",'
        f'"asked_at":"{ASKED.isoformat()}",'
        f'"due_by":"{(ASKED + timedelta(hours=due_h)).isoformat()}",'
        '"sealed":{"nonce":"x"}}'
    ).encode()
    return value, check_id


def answer(request_value: bytes, after_h: float) -> bytes:
    at = (ASKED + timedelta(hours=after_h)).isoformat()
    return request_value[:-1] + f',"answered_at":"{at}"}}'.encode()


class TestCheckBoard:
    def test_open_overdue_and_response_times(self) -> None:
        """Red police overdue shows; health's times are median and p90; late counts."""
        board = CheckBoard()
        police, _ = request("police", "red", 4)
        board.add_request(police)
        for answered_after in (1.0, 2.0, 30.0):  # the last one after its 24 h deadline
            value, _ = request("health", "amber", 24)
            board.add_request(value)
            board.add_answer(answer(value, answered_after))
            board.add_answer(answer(value, answered_after + 1))  # a second answer: ignored
        view = board.view(ASKED + timedelta(hours=5))
        (red,) = [o for o in view.open if o.partner is CheckPartner.POLICE]
        assert (red.urgency, red.open, red.overdue) == (Urgency.RED, 1, 1)
        health = next(p for p in view.partners if p.partner is CheckPartner.HEALTH)
        assert (health.asked, health.answered, health.overdue) == (3, 3, 1)
        assert health.response_median_seconds == 2 * 3600
        assert health.response_p90_seconds is not None
        assert health.response_p90_seconds > 20 * 3600
        assert health.overdue_ratio == 1 / 3
        assert next(o for o in view.open if o.partner is CheckPartner.HEALTH).open == 0

    def test_unreadable_records_are_counted(self) -> None:
        """Never a crash."""
        board = CheckBoard()
        board.add_request(b"not json")
        board.add_answer(None)
        assert board.unreadable == 2
        assert board.view(ASKED).open == ()

    def test_the_red_alert_has_its_metric(self) -> None:
        """deploy/alerts.yml pages on hub_checks_overdue{urgency="red"}."""
        assert "hub_checks_overdue" in {m.name for m in METRICS}
