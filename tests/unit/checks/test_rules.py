"""Agency checks' rules without I/O: deadlines in working time, who sees a check, the contracts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from hub.checks.visibility import visible_to
from hub.sla import CheckDeadlines, ClockKind, SlaCalendar, SlaClock, SlaSettings, check_due_by
from schemas.checks import AnswerCheck, AskChecks

CALENDAR = SlaCalendar(SlaSettings())
WEDNESDAY = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
FRIDAY_LATE = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


class TestDeadlines:
    @pytest.mark.parametrize(
        ("urgency", "asked", "due"),
        [
            ("red", WEDNESDAY, datetime(2026, 11, 26, 10, 30, tzinfo=UTC)),
            ("amber", WEDNESDAY, datetime(2026, 11, 26, 14, 30, tzinfo=UTC)),
            ("green", WEDNESDAY, datetime(2026, 11, 30, 14, 30, tzinfo=UTC)),
            ("red", FRIDAY_LATE, datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        ],
    )
    def test_defaults_count_working_time(
        self, urgency: str, asked: datetime, due: datetime
    ) -> None:
        """Red 4 working hours, amber 1 working day, green 3; weekends do not count."""
        assert check_due_by(urgency, asked, CheckDeadlines(), CALENDAR) == due

    def test_configurable(self) -> None:
        """HUB_CHECKS__RED etc. change the allowance."""
        quick = CheckDeadlines(red=SlaClock(kind=ClockKind.ELAPSED_HOURS, amount=1))
        assert check_due_by("red", WEDNESDAY, quick, CALENDAR) == datetime(
            2026, 11, 25, 15, 30, tzinfo=UTC
        )


class TestVisibility:
    @pytest.mark.parametrize(
        ("asked", "held", "sees"),
        [
            ((), (), True),
            ((), ("RX1",), True),
            (("RX1",), (), True),
            (("RX1",), ("rx1",), True),
            (("RX1",), ("RX2",), False),
            (("RX1", "RX2"), ("RX3", "RX2"), True),
        ],
    )
    def test_orgs(self, asked: tuple[str, ...], held: tuple[str, ...], sees: bool) -> None:
        """No orgs asked: all of the partner's; a credential bound to none sees every one."""
        assert visible_to(asked, held) is sees


class TestContracts:
    def test_details_are_required_when_information_was_found(self) -> None:
        """Information found without details is refused, by field."""
        with pytest.raises(ValidationError) as caught:
            AnswerCheck.model_validate({"result": "information_found", "answered_by": "x"})
        assert [e["loc"] for e in caught.value.errors()] == [("details",)]
        assert AnswerCheck.model_validate({"result": "nothing_known", "answered_by": "x"})

    def test_a_partner_is_asked_once(self) -> None:
        """Duplicates and unknown partners are refused."""
        with pytest.raises(ValidationError):
            AskChecks.model_validate(
                {"partners": ["police", "police"], "urgency": "red", "question": "q"}
            )
        with pytest.raises(ValidationError):
            AskChecks.model_validate({"partners": ["mi5"], "urgency": "red", "question": "q"})
