from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hub.sla import (
    ClockKind,
    ClockState,
    SlaCalendar,
    SlaClock,
    SlaSettings,
    clock_state,
    due_by,
)
from schemas.common import Area, RiskLevel

LONDON = ZoneInfo("Europe/London")
CALENDAR = SlaCalendar(SlaSettings())
STANDARD = RiskLevel.STANDARD
HIGH = RiskLevel.HIGH
ON_TIME, DUE_SOON, OVERDUE = ClockState.ON_TIME, ClockState.DUE_SOON, ClockState.OVERDUE


def ldn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in London (never an ambiguous one in these tests)."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


# An ordinary week: Monday 8 June 2026 to Monday 15 June 2026, BST, no bank holiday.
MON, TUE, WED, THU, FRI, SAT, NEXT_MON = (
    date(2026, 6, 8),
    date(2026, 6, 9),
    date(2026, 6, 10),
    date(2026, 6, 11),
    date(2026, 6, 12),
    date(2026, 6, 13),
    date(2026, 6, 15),
)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A London wall-clock time on one of the days above."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=LONDON)


class TestSettings:
    """SlaSettings defaults, validation and the area lookup."""

    @pytest.mark.parametrize(
        ("area", "risk", "kind", "amount"),
        [
            (Area.MASH, STANDARD, ClockKind.WORKING_DAYS, 1),
            (Area.MASH, RiskLevel.MEDIUM, ClockKind.WORKING_DAYS, 1),
            (Area.MASH, HIGH, ClockKind.WORKING_HOURS, 4),
            (Area.EARLY_HELP, HIGH, ClockKind.ELAPSED_HOURS, 72),
            (Area.DA_TRIAGE, STANDARD, ClockKind.ELAPSED_HOURS, 24),
            (Area.LADO, STANDARD, ClockKind.WORKING_DAYS, 1),
            (Area.ENCOMPASS, STANDARD, ClockKind.NEXT_SCHOOL_DAY, None),
            (Area.MARAC, HIGH, ClockKind.WORKING_DAYS, 5),
            (Area.HOUSING, STANDARD, ClockKind.WORKING_DAYS, 5),
            (Area.ALLOCATED_TEAM, STANDARD, ClockKind.WORKING_DAYS, 1),
            (Area.ALLOCATED_TEAM, HIGH, ClockKind.WORKING_DAYS, 1),
            (Area.ADULT_SERVICES, STANDARD, ClockKind.WORKING_DAYS, 1),
        ],
    )
    def test_defaults_follow_the_design(
        self, area: Area, risk: RiskLevel, kind: ClockKind, amount: float | None
    ) -> None:
        """The default clocks are those of DESIGN.md section 9."""
        assert SlaSettings().clock_for(area, risk) == SlaClock(kind=kind, amount=amount)

    @pytest.mark.parametrize("risk", list(RiskLevel))
    @pytest.mark.parametrize("area", list(Area))
    def test_every_area_has_an_answer(self, area: Area, risk: RiskLevel) -> None:
        """Every area maps to a clock, or to None for record-only and returned."""
        clock = SlaSettings().clock_for(area, risk)
        assert (clock is None) is (area in {Area.RECORD_ONLY, Area.RETURNED})

    @pytest.mark.parametrize("model", [SlaSettings, SlaClock])
    def test_every_field_has_a_description(self, model: type[BaseModel]) -> None:
        """Settings document themselves."""
        assert all(field.description for field in model.model_fields.values())

    def test_settings_are_frozen_and_closed(self) -> None:
        """Settings cannot be changed after they are built, nor carry unknown fields."""
        with pytest.raises(ValidationError, match="frozen"):
            SlaSettings().due_soon_hours = 1  # type: ignore[misc]
        with pytest.raises(ValidationError, match="mash_high_risks"):
            SlaSettings(mash_high_risks=None)  # type: ignore[call-arg]

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"working_day_start": time(17), "working_day_end": time(9)}, "before working_day_end"),
            ({"working_day_start": time(9), "working_day_end": time(9)}, "before working_day_end"),
            ({"timezone": "Europe/Londres"}, "unknown time zone"),
            ({"timezone": ""}, "unknown time zone"),
            ({"school_holidays": [(date(2026, 9, 1), date(2026, 7, 22))]}, "ends before"),
            ({"working_day_start": time(9, tzinfo=UTC)}, "without a UTC offset"),
            ({"due_soon_fraction": 1.5}, "due_soon_fraction"),
        ],
    )
    def test_invalid_settings_are_refused(self, fields: dict[str, Any], message: str) -> None:
        """Inconsistent settings fail when they are built, saying why."""
        with pytest.raises(ValidationError, match=message):
            SlaSettings(**fields)

    @pytest.mark.parametrize(
        ("kind", "amount", "message"),
        [
            (ClockKind.NEXT_SCHOOL_DAY, 1, "takes no amount"),
            (ClockKind.WORKING_DAYS, None, "needs an amount"),
            (ClockKind.ELAPSED_HOURS, 0, "greater than 0"),
            (ClockKind.WORKING_HOURS, -4, "greater than 0"),
            (ClockKind.ELAPSED_HOURS, float("inf"), "finite number"),
        ],
    )
    def test_clock_amount_must_fit_its_kind(
        self, kind: ClockKind, amount: float | None, message: str
    ) -> None:
        """A clock has a positive amount, except the next-school-day clock, which has none."""
        with pytest.raises(ValidationError, match=message):
            SlaClock(kind=kind, amount=amount)

    def test_working_day_length_follows_the_hours(self) -> None:
        """One working day is as long as the configured working hours."""
        assert SlaSettings().working_day_hours == 8
        assert (
            SlaSettings(working_day_start=time(8), working_day_end=time(18)).working_day_hours == 10
        )


class TestBankHolidays:
    """Working days are Monday to Friday without bank holidays in England and Wales."""

    @pytest.mark.parametrize(
        ("day", "working"),
        [
            pytest.param(TUE, True, id="ordinary tuesday"),
            pytest.param(SAT, False, id="saturday"),
            pytest.param(date(2026, 6, 14), False, id="sunday"),
            pytest.param(date(2026, 12, 24), True, id="christmas eve 2026"),
            pytest.param(date(2026, 12, 25), False, id="christmas day 2026"),
            pytest.param(date(2026, 12, 28), False, id="boxing day substitute 2026"),
            pytest.param(date(2026, 12, 29), True, id="29 december 2026"),
            pytest.param(date(2027, 1, 1), False, id="new year 2027"),
            pytest.param(date(2027, 3, 26), False, id="good friday 2027"),
            pytest.param(date(2027, 3, 29), False, id="easter monday 2027"),
            pytest.param(date(2026, 5, 4), False, id="early may 2026"),
            pytest.param(date(2027, 5, 3), False, id="early may 2027"),
            pytest.param(date(2026, 8, 31), False, id="summer bank holiday 2026"),
            pytest.param(date(2027, 1, 4), True, id="first monday 2027"),
        ],
    )
    def test_working_days(self, day: date, working: bool) -> None:
        """Weekends and England-and-Wales bank holidays are not working days."""
        assert CALENDAR.is_working_day(day) is working

    def test_wales_has_the_same_bank_holidays_as_england(self) -> None:
        """The ENG subdivision is right for Wales too (Easter Monday is not UK-wide)."""
        years = range(2020, 2036)
        england = holidays.country_holidays("GB", subdiv="ENG", years=years)
        wales = holidays.country_holidays("GB", subdiv="WLS", years=years)
        scotland = holidays.country_holidays("GB", subdiv="SCT", years=years)
        assert set(england) == set(wales)
        assert set(england) != set(scotland)

    def test_extra_bank_holidays_close_the_day(self) -> None:
        """A closure the library does not know yet can be added in settings."""
        calendar = SlaCalendar(SlaSettings(extra_bank_holidays=(TUE,)))
        assert not calendar.is_working_day(TUE)
        assert calendar.is_bank_holiday(TUE)
        assert calendar.add_working_hours(at(MON, 16), 2) == at(WED, 10)

    def test_school_holidays_are_still_working_days(self) -> None:
        """School holidays stop encompass clocks only; teams still work."""
        calendar = SlaCalendar(SlaSettings(school_holidays=((TUE, WED),)))
        assert calendar.is_working_day(TUE)
        assert not calendar.is_school_day(TUE)
        assert not calendar.is_school_day(WED)
        assert calendar.is_school_day(MON)

    def test_a_datetime_is_not_a_day(self) -> None:
        """Passing a datetime where a date is meant is refused, not silently misread."""
        with pytest.raises(TypeError, match="not a datetime"):
            CALENDAR.is_working_day(at(TUE, 12))


class TestWorkingTime:
    """Adding and measuring working time, 09:00-17:00 on working days."""

    @pytest.mark.parametrize(
        ("start", "hours", "expected"),
        [
            pytest.param(at(TUE, 10), 1, at(TUE, 11), id="inside the day"),
            pytest.param(at(TUE, 16), 1, at(TUE, 17), id="lands on 17:00 the same day"),
            pytest.param(at(TUE, 16, 59), 1, at(WED, 9, 59), id="16:59 carries over"),
            pytest.param(at(TUE, 17), 1, at(WED, 10), id="17:00 is after hours"),
            pytest.param(at(TUE, 17, 1), 1, at(WED, 10), id="17:01 is after hours"),
            pytest.param(at(TUE, 8, 59), 1, at(TUE, 10), id="08:59 waits for 09:00"),
            pytest.param(at(TUE, 9), 1, at(TUE, 10), id="09:00 starts at once"),
            pytest.param(at(TUE, 9, 1), 1, at(TUE, 10, 1), id="09:01"),
            pytest.param(at(TUE, 9), 8, at(TUE, 17), id="a whole day ends at 17:00"),
            pytest.param(at(FRI, 16, 30), 1, at(NEXT_MON, 9, 30), id="over the weekend"),
            pytest.param(at(SAT, 3), 0.5, at(NEXT_MON, 9, 30), id="from a saturday"),
            pytest.param(at(TUE, 12), 0, at(TUE, 12), id="zero hours"),
            pytest.param(at(MON, 9), 40, at(FRI, 17), id="a working week"),
        ],
    )
    def test_add_working_hours(self, start: datetime, hours: float, expected: datetime) -> None:
        """Time outside working hours does not count."""
        assert CALENDAR.add_working_hours(start, hours) == expected

    def test_results_are_in_utc(self) -> None:
        """Whatever the zone of the input, the result is a UTC datetime."""
        start = datetime(2026, 6, 9, 10, tzinfo=ZoneInfo("Asia/Kolkata"))
        result = CALENDAR.add_working_hours(start, 0)
        assert result.tzinfo is UTC
        assert CALENDAR.add_working_hours(start, 1).tzinfo is UTC

    def test_negative_hours_are_refused(self) -> None:
        """Working time only runs forwards."""
        with pytest.raises(ValueError, match="must not be negative"):
            CALENDAR.add_working_hours(at(TUE, 10), -1)

    @pytest.mark.parametrize(
        ("a", "b", "hours"),
        [
            pytest.param(at(TUE, 10), at(TUE, 12), 2, id="same day"),
            pytest.param(at(TUE, 7), at(TUE, 20), 8, id="a whole day"),
            pytest.param(at(TUE, 17), at(WED, 9), 0, id="overnight"),
            pytest.param(at(TUE, 16), at(WED, 10), 2, id="across the night"),
            pytest.param(at(FRI, 16), at(NEXT_MON, 16), 8, id="across the weekend"),
            pytest.param(at(SAT, 10), at(SAT, 20), 0, id="saturday"),
            pytest.param(ldn(2026, 12, 24, 9), ldn(2026, 12, 30, 9), 16, id="over christmas"),
            pytest.param(at(WED, 10), at(TUE, 10), -8, id="backwards is negative"),
        ],
    )
    def test_working_seconds_between(self, a: datetime, b: datetime, hours: float) -> None:
        """Only the overlap with working hours on working days is counted."""
        assert CALENDAR.working_seconds_between(a, b) == hours * 3600


class TestDueBy:
    """The SLA deadline of a message routed to an area."""

    @pytest.mark.parametrize(
        ("routed", "expected"),
        [
            pytest.param(at(FRI, 16), at(NEXT_MON, 16), id="friday 16:00"),
            pytest.param(at(SAT, 10), at(NEXT_MON, 17), id="saturday 10:00"),
            pytest.param(at(TUE, 8), at(TUE, 17), id="tuesday 08:00"),
            pytest.param(at(TUE, 8, 59), at(TUE, 17), id="tuesday 08:59"),
            pytest.param(at(TUE, 9), at(TUE, 17), id="tuesday 09:00"),
            pytest.param(at(TUE, 9, 1), at(WED, 9, 1), id="tuesday 09:01"),
            pytest.param(at(TUE, 16, 59), at(WED, 16, 59), id="tuesday 16:59"),
            pytest.param(at(TUE, 17), at(WED, 17), id="tuesday 17:00"),
            pytest.param(at(TUE, 17, 1), at(WED, 17), id="tuesday 17:01"),
            pytest.param(ldn(2026, 12, 24, 10), ldn(2026, 12, 29, 10), id="christmas 2026"),
            pytest.param(ldn(2026, 12, 31, 15), ldn(2027, 1, 4, 15), id="new year 2027"),
            pytest.param(ldn(2027, 3, 25, 15), ldn(2027, 3, 30, 15), id="easter 2027 and bst"),
            pytest.param(ldn(2026, 5, 1, 11), ldn(2026, 5, 5, 11), id="early may 2026"),
            pytest.param(ldn(2027, 4, 30, 11), ldn(2027, 5, 4, 11), id="early may 2027"),
            pytest.param(ldn(2026, 3, 27, 16), ldn(2026, 3, 30, 16), id="into bst"),
            pytest.param(ldn(2026, 10, 23, 16), ldn(2026, 10, 26, 16), id="into gmt"),
        ],
    )
    def test_mash_is_one_working_day(self, routed: datetime, expected: datetime) -> None:
        """MASH is due 8 working hours after routing, at the same wall-clock time."""
        result = due_by(Area.MASH, routed, STANDARD, CALENDAR)
        assert result == expected
        assert result.tzinfo is UTC

    def test_clock_changes_keep_the_wall_clock(self) -> None:
        """Working deadlines keep London wall-clock time, so the UTC hour moves."""
        spring = due_by(Area.MASH, ldn(2026, 3, 27, 16), STANDARD, CALENDAR)
        autumn = due_by(Area.MASH, ldn(2026, 10, 23, 16), STANDARD, CALENDAR)
        assert spring == datetime(2026, 3, 30, 15, tzinfo=UTC)
        assert autumn == datetime(2026, 10, 26, 16, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("routed", "expected"),
        [
            pytest.param(at(TUE, 13), at(TUE, 17), id="same afternoon"),
            pytest.param(at(TUE, 15), at(WED, 11), id="across the night"),
            pytest.param(at(TUE, 20), at(WED, 13), id="routed overnight"),
            pytest.param(at(FRI, 16), at(NEXT_MON, 12), id="across the weekend"),
            pytest.param(ldn(2026, 12, 24, 15), ldn(2026, 12, 29, 11), id="across christmas"),
        ],
    )
    def test_high_risk_mash_is_four_working_hours(
        self, routed: datetime, expected: datetime
    ) -> None:
        """High risk shortens the MASH clock to 4 working hours."""
        assert due_by(Area.MASH, routed, HIGH, CALENDAR) == expected

    @pytest.mark.parametrize(
        ("area", "routed", "expected"),
        [
            pytest.param(Area.MARAC, at(MON, 10), at(NEXT_MON, 10), id="marac one week"),
            pytest.param(
                Area.MARAC, ldn(2026, 12, 23, 10), ldn(2027, 1, 4, 10), id="marac christmas"
            ),
            pytest.param(
                Area.HOUSING, at(FRI, 9), at(FRI + timedelta(6), 17), id="housing from 09:00"
            ),
            pytest.param(Area.HOUSING, at(FRI, 12), at(FRI + timedelta(7), 12), id="housing"),
            pytest.param(Area.LADO, at(FRI, 16), at(NEXT_MON, 16), id="lado"),
            pytest.param(Area.ALLOCATED_TEAM, at(SAT, 10), at(NEXT_MON, 17), id="allocated"),
            pytest.param(Area.ADULT_SERVICES, at(TUE, 8), at(TUE, 17), id="adult services"),
        ],
    )
    def test_working_day_areas(self, area: Area, routed: datetime, expected: datetime) -> None:
        """LADO, MARAC, housing, allocated team and adult services count working days."""
        assert due_by(area, routed, STANDARD, CALENDAR) == expected

    @pytest.mark.parametrize(
        ("area", "routed", "expected"),
        [
            pytest.param(Area.EARLY_HELP, at(SAT, 10), at(TUE, 10) + timedelta(7), id="eh"),
            pytest.param(Area.DA_TRIAGE, at(FRI, 20), at(SAT, 20), id="da over a weekend"),
            pytest.param(
                Area.DA_TRIAGE, ldn(2026, 12, 24, 18), ldn(2026, 12, 25, 18), id="da christmas"
            ),
            pytest.param(
                Area.EARLY_HELP,
                datetime(2026, 3, 27, 12, tzinfo=UTC),
                datetime(2026, 3, 30, 12, tzinfo=UTC),
                id="early help into bst",
            ),
            pytest.param(
                Area.DA_TRIAGE,
                ldn(2026, 10, 24, 12),
                ldn(2026, 10, 25, 11),
                id="da triage into gmt",
            ),
        ],
    )
    def test_elapsed_hour_areas_ignore_working_time(
        self, area: Area, routed: datetime, expected: datetime
    ) -> None:
        """Early help and DA triage run on the clock on the wall: nights and clock changes count."""
        assert due_by(area, routed, STANDARD, CALENDAR) == expected

    @pytest.mark.parametrize(
        ("routed", "expected"),
        [
            pytest.param(at(TUE, 2), at(TUE, 8, 30), id="overnight, same morning"),
            pytest.param(at(TUE, 8, 29), at(TUE, 8, 30), id="08:29, same morning"),
            pytest.param(at(TUE, 8, 30), at(WED, 8, 30), id="08:30, next day"),
            pytest.param(at(TUE, 14), at(WED, 8, 30), id="afternoon"),
            pytest.param(at(FRI, 20), at(NEXT_MON, 8, 30), id="friday evening"),
            pytest.param(at(SAT, 7), at(NEXT_MON, 8, 30), id="saturday morning"),
            pytest.param(ldn(2026, 12, 24, 20), ldn(2026, 12, 29, 8, 30), id="christmas"),
            pytest.param(ldn(2027, 3, 25, 20), ldn(2027, 3, 30, 8, 30), id="easter and bst"),
            pytest.param(ldn(2026, 5, 1, 12), ldn(2026, 5, 5, 8, 30), id="early may"),
            pytest.param(ldn(2026, 10, 23, 20), ldn(2026, 10, 26, 8, 30), id="into gmt"),
        ],
    )
    def test_encompass_is_before_the_next_school_day(
        self, routed: datetime, expected: datetime
    ) -> None:
        """Encompass is due at the first 08:30 on a school day after routing."""
        assert due_by(Area.ENCOMPASS, routed, STANDARD, CALENDAR) == expected

    def test_encompass_skips_school_holidays(self) -> None:
        """Configured school holidays are not school days."""
        christmas = (date(2026, 12, 21), date(2027, 1, 4))
        calendar = SlaCalendar(SlaSettings(school_holidays=(christmas,)))
        result = due_by(Area.ENCOMPASS, ldn(2026, 12, 18, 20), STANDARD, calendar)
        assert result == ldn(2027, 1, 5, 8, 30)

    @pytest.mark.parametrize("risk", list(RiskLevel))
    @pytest.mark.parametrize("area", [Area.RECORD_ONLY, Area.RETURNED])
    def test_no_deadline(self, area: Area, risk: RiskLevel) -> None:
        """Record-only and returned messages have no clock."""
        assert due_by(area, at(TUE, 10), risk, CALENDAR) is None

    def test_the_input_zone_does_not_matter(self) -> None:
        """The same instant in any zone gives the same deadline."""
        routed = at(TUE, 15)
        expected = due_by(Area.MASH, routed, HIGH, CALENDAR)
        for zone in (UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")):
            assert due_by(Area.MASH, routed.astimezone(zone), HIGH, CALENDAR) == expected

    def test_settings_change_the_clocks(self) -> None:
        """Clocks and working hours come from the settings."""
        settings = SlaSettings(
            early_help=SlaClock(kind=ClockKind.ELAPSED_HOURS, amount=48),
            working_day_start=time(8),
            working_day_end=time(18),
        )
        calendar = SlaCalendar(settings)
        assert due_by(Area.EARLY_HELP, at(TUE, 10), STANDARD, calendar) == at(TUE, 10) + timedelta(
            2
        )
        assert due_by(Area.MASH, at(TUE, 7), STANDARD, calendar) == at(TUE, 18)


NAIVE = datetime(2026, 6, 9, 10)  # noqa: DTZ001  (the point of the test)
AWARE = at(TUE, 10)


class TestNaiveDatetimes:
    """A naive datetime is a programming error and is refused by name."""

    @pytest.mark.parametrize(
        ("call", "name"),
        [
            (lambda: due_by(Area.MASH, NAIVE, STANDARD, CALENDAR), "routed_at"),
            (lambda: due_by(Area.RECORD_ONLY, NAIVE, STANDARD, CALENDAR), "routed_at"),
            (lambda: CALENDAR.add_working_hours(NAIVE, 1), "start"),
            (lambda: CALENDAR.working_seconds_between(AWARE, NAIVE), "b"),
            (lambda: CALENDAR.next_school_day_start(NAIVE), "moment"),
            (lambda: clock_state(AWARE, NAIVE, AWARE, CALENDAR), "now"),
            (lambda: clock_state(NAIVE, AWARE, AWARE, CALENDAR), "due_by"),
            (lambda: clock_state(None, AWARE, NAIVE, CALENDAR), "routed_at"),
        ],
    )
    def test_naive_is_refused(self, call: Callable[[], object], name: str) -> None:
        """Every entry point checks its datetimes."""
        with pytest.raises(ValueError, match=f"{name} must be a timezone-aware datetime"):
            call()


class TestClockState:
    """On time, due soon (under 25% or under 2 working hours left) and overdue."""

    @pytest.mark.parametrize(
        ("area", "risk", "routed", "now", "state"),
        [
            pytest.param(Area.MASH, STANDARD, at(TUE, 9), at(TUE, 9), ON_TIME, id="mash start"),
            pytest.param(Area.MASH, STANDARD, at(TUE, 9), at(TUE, 15), ON_TIME, id="mash 2h left"),
            pytest.param(Area.MASH, STANDARD, at(TUE, 9), at(TUE, 15, 0, 1), DUE_SOON, id="<2h"),
            pytest.param(Area.MASH, STANDARD, at(TUE, 9), at(TUE, 16, 59), DUE_SOON, id="16:59"),
            pytest.param(Area.MASH, STANDARD, at(TUE, 9), at(TUE, 17), OVERDUE, id="17:00"),
            pytest.param(Area.MASH, STANDARD, at(TUE, 9), at(TUE, 17, 1), OVERDUE, id="17:01"),
            pytest.param(Area.MASH, STANDARD, at(TUE, 9), at(TUE, 8), ON_TIME, id="clock skew"),
            pytest.param(Area.MASH, HIGH, at(TUE, 9), at(TUE, 11), ON_TIME, id="high 2h left"),
            pytest.param(Area.MASH, HIGH, at(TUE, 9), at(TUE, 11, 1), DUE_SOON, id="high <2h"),
            pytest.param(Area.MARAC, STANDARD, at(MON, 9), at(THU, 7), ON_TIME, id="marac"),
            pytest.param(Area.MARAC, STANDARD, at(MON, 9), at(THU, 15), ON_TIME, id="marac 25%"),
            pytest.param(Area.MARAC, STANDARD, at(MON, 9), at(THU, 15, 1), DUE_SOON, id="<25%"),
            pytest.param(Area.MASH, STANDARD, at(FRI, 16), at(SAT, 12), ON_TIME, id="weekend"),
            pytest.param(Area.MASH, STANDARD, at(FRI, 16), at(NEXT_MON, 14), ON_TIME, id="mon"),
            pytest.param(Area.MASH, STANDARD, at(FRI, 16), at(NEXT_MON, 14, 1), DUE_SOON, id="m"),
            pytest.param(Area.ENCOMPASS, STANDARD, at(TUE, 10), at(TUE, 15), ON_TIME, id="enc"),
            pytest.param(Area.ENCOMPASS, STANDARD, at(TUE, 10), at(TUE, 15, 1), DUE_SOON, id="e"),
            pytest.param(Area.ENCOMPASS, STANDARD, at(FRI, 20), at(SAT, 12), DUE_SOON, id="e sat"),
            pytest.param(
                Area.ENCOMPASS, STANDARD, at(FRI, 20), at(NEXT_MON, 8, 30), OVERDUE, id="e 08:30"
            ),
            pytest.param(Area.DA_TRIAGE, STANDARD, at(SAT, 10), at(SAT, 10), DUE_SOON, id="da"),
            pytest.param(Area.EARLY_HELP, STANDARD, at(WED, 10), at(FRI, 11, 15), ON_TIME, id="eh"),
            pytest.param(
                Area.EARLY_HELP, STANDARD, at(WED, 10), at(FRI, 11, 16), DUE_SOON, id="eh <25%"
            ),
        ],
    )
    def test_states(
        self, area: Area, risk: RiskLevel, routed: datetime, now: datetime, state: ClockState
    ) -> None:
        """Due soon is measured in working time left; overdue from due_by on."""
        deadline = due_by(area, routed, risk, CALENDAR)
        assert clock_state(deadline, now, routed, CALENDAR) is state

    def test_no_deadline_has_no_state(self) -> None:
        """A clock without a deadline has no state."""
        assert clock_state(None, at(TUE, 12), at(TUE, 10), CALENDAR) is None

    def test_thresholds_come_from_settings(self) -> None:
        """due_soon_fraction and due_soon_hours set where due soon begins."""
        calendar = SlaCalendar(SlaSettings(due_soon_fraction=0.5, due_soon_hours=0))
        deadline = at(TUE, 17)
        assert clock_state(deadline, at(TUE, 13), at(TUE, 9), calendar) is ClockState.ON_TIME
        assert clock_state(deadline, at(TUE, 13, 1), at(TUE, 9), calendar) is ClockState.DUE_SOON


UTC_INSTANTS = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001  (hypothesis bounds are naive)
    max_value=datetime(2031, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
INSTANTS = st.builds(
    lambda t, zone: t.astimezone(zone), UTC_INSTANTS, st.sampled_from([UTC, LONDON])
)
TIMED_AREAS = [area for area in Area if area not in {Area.RECORD_ONLY, Area.RETURNED}]
WORKING_AREAS = [
    Area.MASH,
    Area.LADO,
    Area.MARAC,
    Area.HOUSING,
    Area.ADULT_SERVICES,
    Area.ALLOCATED_TEAM,
]
STATE_ORDER = [ClockState.ON_TIME, ClockState.DUE_SOON, ClockState.OVERDUE]


class TestProperties:
    """Properties that hold for any routing moment."""

    @given(INSTANTS, st.sampled_from(TIMED_AREAS), st.sampled_from(list(RiskLevel)))
    def test_due_is_after_routing(self, routed: datetime, area: Area, risk: RiskLevel) -> None:
        """A deadline is never before, nor at, the moment of routing."""
        result = due_by(area, routed, risk, CALENDAR)
        assert result is not None
        assert result > routed

    @given(INSTANTS, st.sampled_from(WORKING_AREAS), st.sampled_from(list(RiskLevel)))
    def test_working_deadlines_land_in_working_hours(
        self, routed: datetime, area: Area, risk: RiskLevel
    ) -> None:
        """A working-time deadline falls after 09:00 and by 17:00 on a working day."""
        result = due_by(area, routed, risk, CALENDAR)
        assert result is not None
        local = result.astimezone(LONDON)
        assert CALENDAR.is_working_day(local.date())
        assert time(9) < local.time() <= time(17)

    @given(INSTANTS)
    def test_encompass_lands_on_a_school_morning(self, routed: datetime) -> None:
        """Encompass deadlines are 08:30 London time on a school day."""
        result = due_by(Area.ENCOMPASS, routed, STANDARD, CALENDAR)
        assert result is not None
        local = result.astimezone(LONDON)
        assert CALENDAR.is_school_day(local.date())
        assert local.time() == time(8, 30)

    @given(INSTANTS, INSTANTS, st.sampled_from(TIMED_AREAS), st.sampled_from(list(RiskLevel)))
    def test_monotonic_in_routing_time(
        self, first: datetime, second: datetime, area: Area, risk: RiskLevel
    ) -> None:
        """Routing later never makes a message due earlier."""
        early, late = sorted((first, second), key=lambda t: t.astimezone(UTC))
        early_due = due_by(area, early, risk, CALENDAR)
        late_due = due_by(area, late, risk, CALENDAR)
        assert early_due is not None
        assert late_due is not None
        assert early_due <= late_due

    @given(INSTANTS, st.floats(min_value=0, max_value=200, allow_nan=False))
    def test_adding_and_measuring_agree(self, start: datetime, hours: float) -> None:
        """The working time between a start and start + h working hours is h."""
        end = CALENDAR.add_working_hours(start, hours)
        measured = CALENDAR.working_seconds_between(start, end)
        assert measured == pytest.approx(hours * 3600, abs=1e-3)

    @given(INSTANTS, st.floats(min_value=0, max_value=200, allow_nan=False))
    def test_adding_is_the_day_by_day_walk(self, start: datetime, hours: float) -> None:
        """Skipping to the next working day (remembered per day) lands where walking does."""
        calendar = SlaCalendar(SlaSettings())
        for _ in range(2):  # the second time from what the calendar remembers
            assert calendar.add_working_hours(start, hours) == _walk(calendar, start, hours)

    @given(INSTANTS, INSTANTS, INSTANTS, st.sampled_from(TIMED_AREAS))
    def test_states_only_move_forwards(
        self, routed: datetime, first: datetime, second: datetime, area: Area
    ) -> None:
        """As time passes a clock goes from on time to due soon to overdue, never back."""
        deadline = due_by(area, routed, STANDARD, CALENDAR)
        earlier, later = sorted((first, second), key=lambda t: t.astimezone(UTC))
        before = clock_state(deadline, earlier, routed, CALENDAR)
        after = clock_state(deadline, later, routed, CALENDAR)
        assert before is not None
        assert after is not None
        assert STATE_ORDER.index(before) <= STATE_ORDER.index(after)


def _walk(calendar: SlaCalendar, start: datetime, hours: float) -> datetime:
    """``add_working_hours`` as it was written first: every day in turn."""
    begin, remaining = start.astimezone(UTC), timedelta(hours=hours)
    if not remaining:
        return begin
    day = begin.astimezone(LONDON).date()
    settings = calendar.settings
    while True:
        if calendar.is_working_day(day):
            opens = datetime.combine(day, settings.working_day_start, tzinfo=LONDON)
            closes = datetime.combine(day, settings.working_day_end, tzinfo=LONDON)
            cursor = max(begin, opens.astimezone(UTC))
            if cursor < closes:
                if remaining <= closes - cursor:
                    return cursor + remaining
                remaining -= closes - cursor
        day += timedelta(days=1)
