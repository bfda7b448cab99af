"""SLA clocks: when a routed message is due, and whether its clock is on time.

Each area's clock is one of four kinds (:class:`ClockKind`): working hours, working
days, elapsed hours, or "before the next school day starts". Working time is Monday
to Friday, 09:00-17:00 local time (Europe/London), without the bank holidays of
England and Wales from the maintained ``holidays`` library. One working day is one
working day's length of working time (8 hours by default), so a message routed on
Friday at 16:00 is due on Monday at 16:00.

Everything here is pure: no I/O and no global state. :class:`SlaCalendar` caches
bank holidays per year on the instance. Every datetime taken must be timezone-aware
(a naive one is a programming error and raises :class:`ValueError`); every datetime
returned is in UTC. The exact definitions, with worked examples, are in
``docs/sla.md``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.common import Area, RiskLevel

BANK_HOLIDAY_COUNTRY = "GB"
"""Country code of the bank holidays, in the ``holidays`` library."""

BANK_HOLIDAY_SUBDIVISION = "ENG"
"""England; Wales (``WLS``) has the same bank holidays, Scotland and Northern Ireland differ."""

_ONE_DAY = timedelta(days=1)
_SECONDS_PER_HOUR = 3600.0
_SATURDAY = 5  # date.weekday() numbers Monday 0 to Sunday 6


class ClockKind(StrEnum):
    """How an area's SLA allowance is counted."""

    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"
    ELAPSED_HOURS = "elapsed_hours"
    NEXT_SCHOOL_DAY = "next_school_day"


class ClockState(StrEnum):
    """Where a running SLA clock stands."""

    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlaClock(_Section):
    """One area's allowance: a kind and, except for the next school day, an amount."""

    kind: ClockKind = Field(description="How the allowance is counted.")
    amount: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="Hours or working days of allowance; omitted for next_school_day.",
    )

    @model_validator(mode="after")
    def _amount_matches_kind(self) -> SlaClock:
        if self.kind is ClockKind.NEXT_SCHOOL_DAY and self.amount is not None:
            raise ValueError("a next_school_day clock takes no amount")
        if self.kind is not ClockKind.NEXT_SCHOOL_DAY and self.amount is None:
            raise ValueError(f"a {self.kind} clock needs an amount")
        return self


def _working_days(amount: float) -> SlaClock:
    return SlaClock(kind=ClockKind.WORKING_DAYS, amount=amount)


class SlaSettings(_Section):
    """SLA clocks per area and the working calendar they run on (DESIGN.md section 9).

    ``record-only`` and ``returned`` have no clock: nobody actions them in the hub.
    """

    mash: SlaClock = Field(_working_days(1), description="MASH, unless risk is high.")
    mash_high_risk: SlaClock = Field(
        SlaClock(kind=ClockKind.WORKING_HOURS, amount=4),
        description="MASH when the message's risk level is high.",
    )
    early_help: SlaClock = Field(
        SlaClock(kind=ClockKind.ELAPSED_HOURS, amount=72), description="Early help."
    )
    da_triage: SlaClock = Field(
        SlaClock(kind=ClockKind.ELAPSED_HOURS, amount=24),
        description="Domestic abuse triage.",
    )
    marac: SlaClock = Field(_working_days(5), description="MARAC coordinator.")
    encompass: SlaClock = Field(
        SlaClock(kind=ClockKind.NEXT_SCHOOL_DAY),
        description="Operation Encompass: before the next school day starts.",
    )
    housing: SlaClock = Field(_working_days(5), description="Housing options team.")
    lado: SlaClock = Field(_working_days(1), description="Local authority designated officer.")
    adult_services: SlaClock = Field(
        _working_days(1), description="Adult social care front door (not set by DESIGN.md)."
    )
    allocated_team: SlaClock = Field(
        _working_days(1),
        description="The child's allocated team; as mash at standard risk (not set by DESIGN.md).",
    )
    authorisation: SlaClock = Field(
        _working_days(1),
        description="A manager's authorisation of a MASH threshold decision, from the decision.",
    )
    timezone: str = Field(
        "Europe/London", description="IANA time zone that working hours are local to."
    )
    working_day_start: time = Field(time(9), description="Local time a working day starts.")
    working_day_end: time = Field(time(17), description="Local time a working day ends.")
    school_day_start: time = Field(
        time(8, 30), description="Local time a school day starts; encompass is due then."
    )
    school_holidays: tuple[tuple[date, date], ...] = Field(
        (),
        description="Inclusive (first, last) date ranges with no school; working days still.",
    )
    extra_bank_holidays: tuple[date, ...] = Field(
        (),
        description="Closure days the holidays library does not know yet (a state funeral).",
    )
    due_soon_fraction: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="Due soon when less than this share of the working allowance is left.",
    )
    due_soon_hours: float = Field(
        2.0,
        ge=0,
        allow_inf_nan=False,
        description="Due soon when fewer working hours than this are left.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("working_day_start", "working_day_end", "school_day_start")
    @classmethod
    def _wall_clock_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("give a local wall-clock time without a UTC offset")
        return value

    @field_validator("school_holidays")
    @classmethod
    def _ranges_in_order(
        cls, value: tuple[tuple[date, date], ...]
    ) -> tuple[tuple[date, date], ...]:
        for first, last in value:
            if first > last:
                raise ValueError(f"school holiday {first} to {last} ends before it starts")
        return value

    @model_validator(mode="after")
    def _day_in_order(self) -> SlaSettings:
        if self.working_day_start >= self.working_day_end:
            raise ValueError("working_day_start must be before working_day_end")
        return self

    @property
    def working_day_hours(self) -> float:
        """Length of one working day in hours (8 by default)."""
        start = datetime.combine(date.min, self.working_day_start)
        end = datetime.combine(date.min, self.working_day_end)
        return (end - start).total_seconds() / _SECONDS_PER_HOUR

    def clock_for(self, area: Area, risk_level: RiskLevel) -> SlaClock | None:
        """Return the clock that applies to ``area`` at ``risk_level``; None for no deadline."""
        if area is Area.MASH and risk_level is RiskLevel.HIGH:
            return self.mash_high_risk
        clocks: dict[Area, SlaClock | None] = {
            Area.MASH: self.mash,
            Area.EARLY_HELP: self.early_help,
            Area.DA_TRIAGE: self.da_triage,
            Area.MARAC: self.marac,
            Area.ENCOMPASS: self.encompass,
            Area.HOUSING: self.housing,
            Area.LADO: self.lado,
            Area.ADULT_SERVICES: self.adult_services,
            Area.ALLOCATED_TEAM: self.allocated_team,
            Area.RECORD_ONLY: None,
            Area.RETURNED: None,
        }
        return clocks[area]


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment!r}")
    return moment.astimezone(UTC)


class SlaCalendar:
    """Working days, working time and school days, as :class:`SlaSettings` define them.

    Arithmetic is done on UTC instants, so a clock change inside an interval never
    adds or loses an hour; days and wall-clock times are read in the local zone.
    """

    def __init__(self, settings: SlaSettings) -> None:
        self._settings = settings
        self._zone = ZoneInfo(settings.timezone)
        self._extra_closures = frozenset(settings.extra_bank_holidays)
        self._bank_holidays: dict[int, frozenset[date]] = {}
        self._intervals: dict[date, tuple[datetime, datetime]] = {}
        self._next_working: dict[date, date] = {}
        self._clocks: dict[tuple[Area, RiskLevel], SlaClock | None] = {}

    @property
    def settings(self) -> SlaSettings:
        """The settings this calendar was built from."""
        return self._settings

    def clock_for(self, area: Area, risk_level: RiskLevel) -> SlaClock | None:
        """:meth:`SlaSettings.clock_for`, remembered (the settings are frozen)."""
        key = (area, risk_level)
        if key not in self._clocks:
            self._clocks[key] = self._settings.clock_for(area, risk_level)
        return self._clocks[key]

    def is_bank_holiday(self, day: date) -> bool:
        """Whether ``day`` is a bank holiday in England and Wales, or an extra closure."""
        _require_date(day)
        return day in self._extra_closures or day in self._holidays_of(day.year)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is Monday to Friday and not a bank holiday."""
        _require_date(day)
        return day.weekday() < _SATURDAY and not self.is_bank_holiday(day)

    def is_school_day(self, day: date) -> bool:
        """Whether ``day`` is a working day outside every configured school holiday."""
        return self.is_working_day(day) and not any(
            first <= day <= last for first, last in self._settings.school_holidays
        )

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Return the moment ``hours`` of working time after ``start``, in UTC.

        Working time outside working hours does not pass, so a result lands inside
        a working day, after its start and at the latest at its end (17:00 counts as
        the end of the day, not the start of the next). Zero hours returns ``start``.
        """
        begin = _utc(start, "start")
        if hours < 0:
            raise ValueError(f"hours must not be negative, got {hours}")
        remaining = timedelta(hours=hours)
        if not remaining:
            return begin
        day = self._working_day_from(begin.astimezone(self._zone).date())
        while True:
            opens, closes = self._working_interval(day)
            cursor = max(begin, opens)
            if cursor < closes:
                if remaining <= closes - cursor:
                    return cursor + remaining
                remaining -= closes - cursor
            day = self._working_day_from(day + _ONE_DAY)

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Seconds of working time from ``a`` to ``b``; negative when ``b`` is before ``a``."""
        first, last = _utc(a, "a"), _utc(b, "b")
        if last < first:
            return -self.working_seconds_between(b, a)
        total = timedelta()
        day = first.astimezone(self._zone).date()
        last_day = last.astimezone(self._zone).date()
        while day <= last_day:
            if self.is_working_day(day):
                opens, closes = self._working_interval(day)
                overlap = min(closes, last) - max(opens, first)
                total += max(overlap, timedelta())
            day += _ONE_DAY
        return total.total_seconds()

    def next_school_day_start(self, moment: datetime) -> datetime:
        """Return the first school-day start strictly after ``moment``, in UTC.

        Before 08:30 on a school day that is the same day's 08:30; at or after it,
        the next school day's.
        """
        after = _utc(moment, "moment")
        day = after.astimezone(self._zone).date()
        while True:
            if self.is_school_day(day):
                starts = self._local(day, self._settings.school_day_start)
                if starts > after:
                    return starts
            day += _ONE_DAY

    def _working_day_from(self, day: date) -> date:
        """The first working day on or after ``day`` (remembered: the router asks per copy)."""
        found = self._next_working.get(day)
        if found is None:
            found = day
            while not self.is_working_day(found):
                found += _ONE_DAY
            self._next_working[day] = found
        return found

    def _working_interval(self, day: date) -> tuple[datetime, datetime]:
        found = self._intervals.get(day)
        if found is None:
            found = (
                self._local(day, self._settings.working_day_start),
                self._local(day, self._settings.working_day_end),
            )
            self._intervals[day] = found
        return found

    def _local(self, day: date, wall_clock: time) -> datetime:
        return datetime.combine(day, wall_clock, tzinfo=self._zone).astimezone(UTC)

    def _holidays_of(self, year: int) -> frozenset[date]:
        cached = self._bank_holidays.get(year)
        if cached is None:
            found = holidays.country_holidays(
                BANK_HOLIDAY_COUNTRY, subdiv=BANK_HOLIDAY_SUBDIVISION, years=year
            )
            cached = frozenset(found)
            self._bank_holidays[year] = cached
        return cached


def _require_date(day: date) -> None:
    # datetime is a date subclass; which day a moment falls on depends on the zone.
    if isinstance(day, datetime):
        raise TypeError("pass a date, not a datetime: the day depends on the time zone")


def due_by(
    area: Area, routed_at: datetime, risk_level: RiskLevel, calendar: SlaCalendar
) -> datetime | None:
    """Return when a message routed to ``area`` at ``routed_at`` is due, in UTC.

    None means the area has no deadline (``record-only``, ``returned``). The clock is
    overdue from the returned instant on.
    """
    start = _utc(routed_at, "routed_at")
    clock = calendar.clock_for(area, risk_level)
    if clock is None:
        return None
    return _run(clock, start, calendar)


def authorisation_due_by(decided_at: datetime, calendar: SlaCalendar) -> datetime:
    """When a manager's authorisation of a decision made at ``decided_at`` is due, in UTC."""
    return _run(calendar.settings.authorisation, _utc(decided_at, "decided_at"), calendar)


def _run(clock: SlaClock, start: datetime, calendar: SlaCalendar) -> datetime:
    """When ``clock``, started at ``start`` (UTC), runs out."""
    if clock.kind is ClockKind.NEXT_SCHOOL_DAY:
        return calendar.next_school_day_start(start)
    assert clock.amount is not None  # the model validator guarantees it
    if clock.kind is ClockKind.ELAPSED_HOURS:
        return start + timedelta(hours=clock.amount)
    if clock.kind is ClockKind.WORKING_DAYS:
        return calendar.add_working_hours(start, clock.amount * calendar.settings.working_day_hours)
    return calendar.add_working_hours(start, clock.amount)


def clock_state(
    due_by: datetime | None, now: datetime, routed_at: datetime, calendar: SlaCalendar
) -> ClockState | None:
    """Return where a clock stands at ``now``; None when there is no deadline.

    Overdue from ``due_by`` on. Due soon when the working time left is less than
    ``due_soon_fraction`` of the working time allowed, or less than
    ``due_soon_hours``. Working time is the measure for every kind of clock, because
    it is the time a team has to act: a clock whose allowance holds no working time
    (a message routed on Saturday that is due on Sunday) is due soon at once.
    """
    current = _utc(now, "now")
    routed = _utc(routed_at, "routed_at")
    if due_by is None:
        return None
    deadline = _utc(due_by, "due_by")
    if current >= deadline:
        return ClockState.OVERDUE
    settings = calendar.settings
    allowed = calendar.working_seconds_between(routed, deadline)
    left = calendar.working_seconds_between(current, deadline)
    threshold = max(
        allowed * settings.due_soon_fraction, settings.due_soon_hours * _SECONDS_PER_HOUR
    )
    return ClockState.DUE_SOON if left < threshold else ClockState.ON_TIME


class CheckDeadlines(_Section):
    """How long a partner has to answer an agency check, by urgency (DESIGN.md section 17)."""

    red: SlaClock = Field(
        SlaClock(kind=ClockKind.WORKING_HOURS, amount=4), description="Red: 4 working hours."
    )
    amber: SlaClock = Field(_working_days(1), description="Amber: 1 working day.")
    green: SlaClock = Field(_working_days(3), description="Green: 3 working days.")


def check_due_by(
    urgency: str, asked_at: datetime, deadlines: CheckDeadlines, calendar: SlaCalendar
) -> datetime:
    """When the answer to a check of ``urgency`` asked at ``asked_at`` is due, in UTC."""
    start = _utc(asked_at, "asked_at")
    clock: SlaClock = getattr(deadlines, urgency)
    return _run(clock, start, calendar)
