"""The values the safety checker tries for each group of routing facts.

Who the people are (adults, children at the age boundaries 0, 3, 4, 15, 16, 17 and 18,
an unborn child, siblings, with and without the flags present, resides, injured, a
known school), every kind, every consent position the contract allows, the risk levels,
DASH scores and history counts on each side of every threshold a condition names.
:func:`build` makes a real routing metadata and history summary of one choice, so the
facts are computed by the router's own code. It keeps two invariants every connector
keeps: a professional judgement of high risk makes the level high, and the contacts in
twelve months include the domestic-abuse incidents and the low-level notifications.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hub.policy.conditions import Condition
from schemas.common import (
    KIND_PARTNER,
    KINDS,
    Concern,
    ConsentStatus,
    LawfulBasis,
    NoConsentReason,
    PlanType,
    Rag,
    RiskLevel,
    RiskTool,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import (
    ConsentMeta,
    PlanFacts,
    Quality,
    RiskMeta,
    RoutingMetadata,
    SubjectMeta,
)
from schemas.history import HistorySummary

OCCURRED = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
"""When every enumerated message happened (history is measured from it)."""

_KEY = "0" * 64
CONCERN_GROUP = "concern:"


@dataclass(frozen=True)
class Option:
    """One value of a group: what it sets, and how to show it."""

    group: str
    label: str
    value: Any


@dataclass(frozen=True)
class ConcernClass:
    """Concern codes that every condition and fact treats alike."""

    members: tuple[Concern, ...]

    @property
    def group(self) -> str:
        """The group's name: after the class's first code."""
        return f"{CONCERN_GROUP}{self.members[0].value}"

    def show(self) -> str:
        """The class as people read it: ``a (or b, c)``."""
        first, *rest = (m.value for m in self.members)
        return f"{first} (or {', '.join(rest)})" if rest else first


# ------------------------------------------------------------------ building messages


def build(pick: Mapping[str, Option], concerns: tuple[Concern, ...]) -> tuple[Any, Any]:
    """The routing metadata and history summary of a full choice of options."""
    kind = pick["kind"].value
    risk = _risk(pick["risk.level"].value, pick["risk.judgement"].value, pick["risk.tool"].value)
    meta = RoutingMetadata.model_construct(
        message_id=UUID(int=0),
        partner=KIND_PARTNER[kind.split(".", 1)[0]],
        org_code="X",
        system="safety-check",
        partner_reference="X",
        kind=kind,
        schema_version="1.0",
        occurred_at=OCCURRED,
        reported_at=OCCURRED,
        received_at=OCCURRED,
        subject_key=_KEY,
        subjects=pick["people"].value,
        risk=risk,
        consent=pick["consent"].value,
        concerns=concerns,
        # Only health messages report CP-IS plans (DESIGN.md section 15).
        plans=pick["plans"].value if kind.startswith("health.") else (),
        quality=_QUALITY,
    )
    history = _history(
        pick["history.contacts"].value,
        pick["history.da"].value,
        pick["history.low"].value,
        pick["history.marac"].value,
        pick["history.open"].value,
    )
    return meta, history


_QUALITY = Quality.model_construct(score=100, findings=())


@functools.cache
def _risk(level: RiskLevel, judged: bool, tool_score: tuple[RiskTool, int | None]) -> RiskMeta:
    """A judgement of high risk makes the level high, as every connector does."""
    level = RiskLevel.HIGH if judged else level
    return RiskMeta.model_construct(
        tool=tool_score[0],
        score=tool_score[1],
        partner_grade=level.value,
        level=level,
        rag=Rag.RED if level is RiskLevel.HIGH else Rag.GREEN,
        professional_judgement=judged,
    )


@functools.cache
def _history(
    contacts: int, da: int, low: int, marac: datetime | None, open_case: bool
) -> HistorySummary:
    """The contacts in twelve months include the DA incidents and low-level notifications."""
    return HistorySummary.model_construct(
        contacts_12m=max(contacts, da, low),
        da_incidents_12m=da,
        low_level_3m=low,
        last_marac_referral_at=marac,
        open_case=open_case,
    )


# ------------------------------------------------------------------ raw options


def person(role: SubjectRole, age: int | None, **flags: Any) -> SubjectMeta:
    """The routing facts of one person (``flags``: present, injured, has_school, ...)."""
    return SubjectMeta.model_construct(
        role=role,
        subject_key=_KEY,
        age_years=age,
        present=flags.get("present"),
        witnessed=flags.get("witnessed"),
        injured=flags.get("injured"),
        resides_at_address=flags.get("resides_at_address"),
        works_with_children=flags.get("works_with_children"),
        has_school=flags.get("has_school", False),
        nhs_number_verified=True,
    )


def _describe(person: SubjectMeta) -> str:
    age = "unborn" if person.role is SubjectRole.UNBORN_CHILD else f"aged {person.age_years}"
    if person.age_years is None and person.role is not SubjectRole.UNBORN_CHILD:
        age = "age unknown"
    flags = [
        name.replace("_", " ")
        for name in ("present", "witnessed", "injured", "resides_at_address")
        if getattr(person, name)
    ]
    if person.works_with_children:
        flags.append("works with children")
    if person.has_school:
        flags.append("school known")
    extra = f" ({', '.join(flags)})" if flags else ""
    return f"{person.role.value.replace('_', ' ')} {age}{extra}"


_ADULTS: tuple[tuple[SubjectMeta, ...], ...] = (
    (person(SubjectRole.VICTIM, 34),),
    (),
    (person(SubjectRole.PARENT_CARER, 34),),
    (person(SubjectRole.VICTIM, 34), person(SubjectRole.PERSON_CAUSING_HARM, 36)),
    (person(SubjectRole.PROFESSIONAL_SUBJECT, 40, works_with_children=True),),
    (person(SubjectRole.PERSON_CAUSING_HARM, 36, works_with_children=True),),
    (person(SubjectRole.HOUSEHOLD_MEMBER, 18),),
)
_AGES = (8, None, 0, 3, 4, 15, 16, 17)
"""A typical age first (examples read best with it), then the boundaries."""
_FLAGS: tuple[dict[str, bool], ...] = (
    {},
    {"present": True},
    {"resides_at_address": True},
    {"present": True, "injured": True},
)


def _children() -> Iterable[tuple[SubjectMeta, ...]]:
    yield ()
    singles = [
        person(role, age, **flags, has_school=school)
        for role in (SubjectRole.CHILD, SubjectRole.VICTIM)
        for age in _AGES
        for flags in _FLAGS
        for school in (False, True)
        if not (role is SubjectRole.VICTIM and age is None)
    ]
    yield from ((one,) for one in singles)
    yield (person(SubjectRole.UNBORN_CHILD, None),)
    siblings = (
        person(SubjectRole.CHILD, 8, resides_at_address=True, has_school=True),
        person(SubjectRole.CHILD, 16, present=True),
        person(SubjectRole.CHILD, 2, present=True, injured=True),
    )
    yield from itertools.combinations(siblings, 2)


def people_options() -> list[Option]:
    """Who the message is about: adults, children and unborn children at the boundaries."""
    options = []
    for adults in _ADULTS:
        for children in _children():
            people = (*adults, *children)
            if not people:
                continue
            label = "; ".join(_describe(p) for p in people)
            options.append(Option("people", label, people))
    return options


def _consents() -> list[Option]:
    options = []
    reasons: Sequence[NoConsentReason | None] = (None, *NoConsentReason)
    gateways: Sequence[StatutoryGateway | None] = (None, *StatutoryGateway)
    for status, reason, gateway in itertools.product(ConsentStatus, reasons, gateways):
        given = status is ConsentStatus.GIVEN
        if given and reason is not None:
            continue
        if not given and (reason is None or gateway is None):
            continue
        consent = ConsentMeta.model_construct(
            status=status,
            recorded_at=OCCURRED,
            lawful_basis=LawfulBasis.PUBLIC_TASK,
            special_category_condition=None,
            no_consent_reason=reason,
            statutory_gateway=gateway,
        )
        parts = [status.value]
        parts += [f"reason {reason.value}"] if reason else []
        parts += [f"gateway {gateway.value}"] if gateway else []
        options.append(Option("consent", "consent " + ", ".join(parts), consent))
    return options


def _numbers(conditions: Sequence[Condition], fact: str) -> list[int]:
    """0 and each side of every threshold the conditions put on a number fact."""
    values = {0}
    for cond in conditions:
        for leaf in cond.leaves():
            if leaf.fact == fact and isinstance(leaf.operand, int):
                values |= {max(0, leaf.operand - 1), leaf.operand, leaf.operand + 1}
    return sorted(values)


def raw_options(
    conditions: Sequence[Condition], classes: Sequence[ConcernClass]
) -> dict[str, list[Option]]:
    """Every group's options before equivalent ones are merged (defaults first)."""
    scores = [s for s in _numbers(conditions, "risk.dash_score") if s <= 24]  # noqa: PLR2004
    groups: dict[str, list[Option]] = {
        "people": people_options(),
        "kind": [Option("kind", f"kind {k}", k) for k in sorted(KINDS)],
        "risk.level": [Option("risk.level", f"risk {lv.value}", lv) for lv in RiskLevel],
        "risk.judgement": [
            Option("risk.judgement", "no professional judgement of high risk", value=False),
            Option("risk.judgement", "professional judgement of high risk", value=True),
        ],
        "risk.tool": [
            Option("risk.tool", "no risk tool", (RiskTool.NONE, None)),
            Option("risk.tool", "DARA", (RiskTool.DARA, None)),
            *(Option("risk.tool", f"DASH score {s}", (RiskTool.DASH, s)) for s in scores),
        ],
        "consent": _consents(),
        "history.contacts": _counts(conditions, "history.contacts", "history.contacts_12m"),
        "history.da": _counts(conditions, "history.da", "history.da_incidents_12m"),
        "history.low": _counts(conditions, "history.low", "history.low_level_3m"),
        "history.marac": [
            Option("history.marac", "no MARAC referral", None),
            Option("history.marac", "MARAC 300 days ago", OCCURRED - timedelta(days=300)),
            Option("history.marac", "MARAC 400 days ago", OCCURRED - timedelta(days=400)),
        ],
        "history.open": [
            Option("history.open", "no open case", value=False),
            Option("history.open", "open case", value=True),
        ],
        "plans": _plans(),
    }
    # The kind that opens the list is its default: a kind no rule names.
    groups["kind"].sort(key=lambda o: o.value != "police.notification.other")
    for cls in classes:
        groups[cls.group] = [
            Option(cls.group, f"not {cls.show()}", value=False),
            Option(cls.group, cls.show(), value=True),
        ]
    return groups


def _plans() -> list[Option]:
    """No plan; each CP-IS plan type held by a local authority; a plan of unstated type."""
    options = [Option("plans", "no CP-IS plan", ())]
    for plan_type in (*PlanType, None):
        plan = PlanFacts.model_construct(type=plan_type, local_authority="A local authority")
        shown = plan_type.value.replace("_", " ") if plan_type else "plan of unstated type"
        options.append(Option("plans", f"CP-IS {shown}", (plan,)))
    return options


def _counts(conditions: Sequence[Condition], group: str, fact: str) -> list[Option]:
    return [Option(group, f"{fact} {n}", n) for n in _numbers(conditions, fact)]
