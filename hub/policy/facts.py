"""The facts a routing policy can test, computed from routing metadata and history.

Each fact has a name (``risk.level``), a type, the values it may take, and a
plain-English description that ``hub policy check --facts`` prints for practice
leads. Facts read only routing metadata and the history summary, never encrypted
content.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from schemas.common import (
    SCHOOL_AGE,
    Concern,
    ConsentStatus,
    NoConsentReason,
    Partner,
    PlanType,
    RiskLevel,
    RiskTool,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import RoutingMetadata, SubjectMeta
from schemas.history import HistorySummary

FactValue = bool | int | str | frozenset[str] | None

"""Operation Encompass covers children from reception (4) to 17."""


@dataclass(frozen=True)
class Fact:
    """One testable fact."""

    name: str
    kind: type  # bool, int, str or frozenset
    description: str
    values: tuple[str, ...] = ()  # allowed values of a str or set fact; empty = free
    compute: Callable[[RoutingMetadata, HistorySummary], FactValue] = lambda _m, _h: None


_last_children: tuple[object, tuple[SubjectMeta, ...]] = (None, ())
"""The last message and its children: several facts ask, one message after another.

Replaced as one tuple (atomic), and it holds the message, so its identity cannot be
reused while it is here."""


def _children(meta: RoutingMetadata) -> tuple[SubjectMeta, ...]:
    global _last_children  # noqa: PLW0603 -- a one-entry cache
    last, children = _last_children
    if last is not meta:
        children = meta.children
        _last_children = (meta, children)
    return children


def _da(meta: RoutingMetadata) -> bool:
    return (
        meta.kind
        in {
            "police.notification.domestic_abuse",
            "domestic_abuse.dash_assessment",
        }
        or Concern.DOMESTIC_ABUSE in meta.concerns
    )


def _child_affected(meta: RoutingMetadata) -> bool:
    """A child was there, lives there, was hurt, or is unborn (a pregnancy included)."""
    return (
        any(
            c.role is SubjectRole.UNBORN_CHILD
            or bool(c.present)
            or bool(c.witnessed)
            or bool(c.resides_at_address)
            or bool(c.injured)
            for c in _children(meta)
        )
        or (bool(_children(meta)) and meta.kind == "domestic_abuse.dash_assessment")
        or Concern.PREGNANCY in meta.concerns
    )


def _significant_harm_stated(meta: RoutingMetadata) -> bool:
    """The sender says the child is at risk of significant harm, in the consent facts.

    Sharing under Children Act 1989 s47, or without consent because seeking it would
    prejudice the child's protection, is the sender's own statement of significant harm.
    """
    consent = meta.consent
    return (
        consent.statutory_gateway is StatutoryGateway.CA1989_S47
        or consent.no_consent_reason is NoConsentReason.WOULD_PREJUDICE_PROTECTION
    )


def _child_victim(meta: RoutingMetadata) -> bool:
    return any(s.role is SubjectRole.VICTIM and s.is_child for s in meta.subjects)


def _child_without_parent_carer(meta: RoutingMetadata) -> bool:
    return bool(_children(meta)) and not any(
        s.role is SubjectRole.PARENT_CARER for s in meta.subjects
    )


def _marac_within_12m(meta: RoutingMetadata, history: HistorySummary) -> bool:
    last = history.last_marac_referral_at
    return last is not None and meta.occurred_at - last <= timedelta(days=365)


def _allegation(meta: RoutingMetadata) -> bool:
    return Concern.ALLEGATION_AGAINST_PROFESSIONAL in meta.concerns or any(
        s.role is SubjectRole.PROFESSIONAL_SUBJECT
        or (s.role is SubjectRole.PERSON_CAUSING_HARM and bool(s.works_with_children))
        for s in meta.subjects
    )


CPIS_ACCESS = "health.cpis_access"
PLAN_NOT_STATED = "not_stated"
"""``plan.types`` of a plan the message reports without saying which (a CP-IS flag alone)."""


def _cpis(meta: RoutingMetadata) -> bool:
    return meta.kind == CPIS_ACCESS or bool(meta.plans)


def _plan_types(meta: RoutingMetadata) -> frozenset[str]:
    return frozenset(p.type.value if p.type else PLAN_NOT_STATED for p in meta.plans)


def _local_authorities(meta: RoutingMetadata) -> frozenset[str]:
    return frozenset(p.local_authority for p in meta.plans if p.local_authority)


_LEVELS = tuple(v.value for v in RiskLevel)
_FACTS: tuple[Fact, ...] = (
    Fact(
        "kind",
        str,
        "The message kind, e.g. police.notification.domestic_abuse.",
        compute=lambda m, _h: m.kind,
    ),
    Fact(
        "partner",
        str,
        "The sending partner.",
        tuple(p.value for p in Partner),
        lambda m, _h: m.partner,
    ),
    Fact(
        "domestic_abuse",
        bool,
        "The message is about domestic abuse (police DA notification, DASH, or DA concern).",
        compute=lambda m, _h: _da(m),
    ),
    Fact(
        "risk.level",
        str,
        "Canonical risk level (the partner's grade mapped).",
        _LEVELS,
        lambda m, _h: m.risk.level,
    ),
    Fact(
        "risk.tool",
        str,
        "Risk tool used.",
        tuple(t.value for t in RiskTool),
        lambda m, _h: m.risk.tool,
    ),
    Fact(
        "risk.dash_score",
        int,
        "DASH score (count of yes answers), or none when DASH was not used.",
        compute=lambda m, _h: m.risk.score if m.risk.tool is RiskTool.DASH else None,
    ),
    Fact(
        "risk.professional_judgement_high",
        bool,
        "A professional judged the risk to be high.",
        compute=lambda m, _h: m.risk.professional_judgement,
    ),
    Fact(
        "consent.status",
        str,
        "Consent to share.",
        tuple(s.value for s in ConsentStatus),
        lambda m, _h: m.consent.status,
    ),
    Fact(
        "consent.given",
        bool,
        "Consent to share was given.",
        compute=lambda m, _h: m.consent.given,
    ),
    Fact(
        "consent.significant_harm_stated",
        bool,
        "The sender states significant harm: the Children Act 1989 s47 gateway, or no "
        "consent because seeking it would prejudice the child's protection.",
        compute=lambda m, _h: _significant_harm_stated(m),
    ),
    Fact(
        "concerns",
        frozenset,
        "The coded concern factors.",
        tuple(c.value for c in Concern),
        lambda m, _h: frozenset(m.concerns),
    ),
    Fact(
        "child.involved",
        bool,
        "A child or unborn child is a subject, or a pregnancy is recorded.",
        compute=lambda m, _h: bool(_children(m)) or Concern.PREGNANCY in m.concerns,
    ),
    Fact(
        "child.count",
        int,
        "How many subjects are children (under 18) or unborn.",
        compute=lambda m, _h: len(_children(m)),
    ),
    Fact(
        "child.injured",
        bool,
        "A child was injured.",
        compute=lambda m, _h: any(bool(c.injured) for c in _children(m)),
    ),
    Fact(
        "child.affected",
        bool,
        "A child was present, witnessed it, lives at the address, was injured, or is unborn "
        "(a pregnancy counts).",
        compute=lambda m, _h: _child_affected(m),
    ),
    Fact(
        "child.school_age_with_school",
        int,
        "Children aged 4 to 17 whose school is known, or who are in elective home "
        "education (Operation Encompass: their notice goes to children's services).",
        compute=lambda m, _h: sum(
            1
            for c in _children(m)
            if (c.has_school or c.elective_home_education) and c.age_years in SCHOOL_AGE
        ),
    ),
    Fact(
        "child.victim",
        bool,
        "The victim is a child: a subject with the role victim is under 18.",
        compute=lambda m, _h: _child_victim(m),
    ),
    Fact(
        "child.without_parent_carer",
        bool,
        "A child is a subject and no subject is a parent or carer (a child on their own).",
        compute=lambda m, _h: _child_without_parent_carer(m),
    ),
    Fact(
        "person.aged_16_or_17",
        bool,
        "A subject is aged 16 or 17.",
        compute=lambda m, _h: any(s.age_years in (16, 17) for s in m.subjects),
    ),
    Fact(
        "allegation_against_professional",
        bool,
        "An allegation against a person who works with children.",
        compute=lambda m, _h: _allegation(m),
    ),
    Fact(
        "cpis",
        bool,
        "CP-IS information: a CP-IS flag, a child protection or care plan, or a CP-IS "
        "notification that the child was seen in unscheduled care.",
        compute=lambda m, _h: _cpis(m),
    ),
    Fact(
        "plan.types",
        frozenset,
        "The plans reported (CP-IS): child protection, looked after, unborn child "
        "protection, or not_stated.",
        (*(t.value for t in PlanType), PLAN_NOT_STATED),
        lambda m, _h: _plan_types(m),
    ),
    Fact(
        "plan.local_authorities",
        frozenset,
        "The local authorities holding the plans, as the NHS names them (free text).",
        compute=lambda m, _h: _local_authorities(m),
    ),
    Fact(
        "history.contacts_12m",
        int,
        "Messages about the subject in the last 12 months, including this one.",
        compute=lambda _m, h: h.contacts_12m,
    ),
    Fact(
        "history.da_incidents_12m",
        int,
        "Domestic-abuse incidents about the subject in 12 months, including this one.",
        compute=lambda _m, h: h.da_incidents_12m,
    ),
    Fact(
        "history.low_level_3m",
        int,
        "Standard-risk notifications about the subject in 3 months, including this one.",
        compute=lambda _m, h: h.low_level_3m,
    ),
    Fact(
        "history.marac_within_12m",
        bool,
        "The subject was referred to MARAC in the 12 months before this incident.",
        compute=_marac_within_12m,
    ),
    Fact(
        "history.open_case",
        bool,
        "A team has recorded an open case for the subject.",
        compute=lambda _m, h: h.open_case,
    ),
)

FACTS: Mapping[str, Fact] = {f.name: f for f in _FACTS}
_COMPUTE = tuple((f.name, f.compute) for f in _FACTS)


def compute_facts(meta: RoutingMetadata, history: HistorySummary) -> dict[str, Any]:
    """Every fact's value for one message.

    Enumerated facts are returned as the enum members themselves: a ``StrEnum``
    member compares and hashes equal to its text, so policy values match them.
    """
    return {name: compute(meta, history) for name, compute in _COMPUTE}
