"""Parse a health partner's FHIR R4 message into envelopes: the connector's pure core.

:func:`parse` decodes the bytes (:mod:`.decode`), indexes the resources
(:mod:`.message`), reads each item of safeguarding content (:mod:`.items`: concerns,
CP-IS plans and access notifications), then builds one envelope per group of items:

- a **message** Bundle is one event, so one envelope, whose subjects are every
  person in it (and their RelatedPersons);
- a **batch**, **transaction** or **collection** carries independent items, so one
  envelope per person that an item is about, numbered in order of appearance;
- a single resource is one envelope about the person it names.

An envelope of access notifications only is a ``health.cpis_access``; any other is a
``health.safeguarding_concern``. Every problem anywhere in the message is collected
first; then either all envelopes are returned, or
:class:`~connectors.errors.ParseFailed` lists every error.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter

from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError

from connectors.errors import ParseFailed
from connectors.health._fhir.concern import ConcernFacts
from connectors.health._fhir.consent import ConsentContext, read_consent
from connectors.health._fhir.decode import decode
from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.items import read_items
from connectors.health._fhir.message import (
    Absent,
    Located,
    Message,
    Person,
    person_key,
    read_message,
)
from connectors.health._fhir.national import is_bars
from connectors.health._fhir.people import Keys
from connectors.health._fhir.profiles import recognised_profiles
from connectors.health._fhir.source import read_source, root_path
from connectors.health._fhir.subjects import group_subjects
from connectors.health._fhir.values import instant
from connectors.health.format import ACCESS_KIND, HARM_FLAG_RISK, KIND, NO_GRADE, PRIORITY_RISK
from connectors.identity import message_id_for, primary_subject_key
from connectors.protocol import ParseContext
from schemas.common import Concern, Partner, PlanType, Rag, RiskLevel, RiskTool
from schemas.envelope import Envelope, Plan, Quality, QualityFinding, Risk, Source, Subject

NARRATIVE_MAX = 20_000
_RESOURCE_PATH = re.compile(r"Bundle\.entry\[\d+\]\.resource|[A-Z][A-Za-z]*")
"""The resource a finding's FHIRPath is in: a Bundle entry, or the root resource."""
_STATES = (Flag, CarePlan, CareTeam)
"""Items that record a state (a flag, a plan) rather than an event."""
_NO_CONTENT = (
    "no safeguarding content: no Flag, ServiceRequest or Communication, CP-IS plan or "
    "access notification in the message"
)
_NO_CONTENT_BARS = (
    "no safeguarding content: a BaRS message without a safeguarding Flag (category SG) "
    "is not for the hub"
)


@dataclass(frozen=True)
class _Group:
    """The items of one envelope and the people it is about."""

    index: int
    concerns: tuple[ConcernFacts, ...]
    people: tuple[Person, ...]


@dataclass(frozen=True)
class _Links:
    """RelatedPersons and Consents by the person they refer to (its :func:`person_key`)."""

    related: Mapping[str, tuple[Located, ...]]
    consents: Mapping[str, tuple[Located, ...]]

    def related_to(self, people: Iterable[Person]) -> list[Located]:
        """The RelatedPersons of these people."""
        return [r for person in people for r in self.related.get(person_key(person), ())]

    def consents_of(self, people: Iterable[Person]) -> list[Located]:
        """The Consents about these people."""
        return [c for person in people for c in self.consents.get(person_key(person), ())]


@dataclass(frozen=True)
class _Shared:
    """What every envelope of one message shares."""

    message: Message
    concerns: tuple[ConcernFacts, ...]
    links: _Links
    source: Source | None
    stamp: datetime | None
    referred: datetime | None
    """A BaRS referral's time: its ServiceRequest's authoredOn."""
    profiles: tuple[str, ...]
    context: ParseContext


def parse(raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
    """Parse a FHIR R4 document into envelopes, or raise ParseFailed with every error."""
    ledger = Ledger()
    message = read_message(decode(raw, content_type), ledger)
    concerns = read_items(message, ledger)
    bars = is_bars(message)
    if not concerns:
        ledger.required(root_path(message), _NO_CONTENT_BARS if bars else _NO_CONTENT)
    shared = _Shared(
        message=message,
        concerns=tuple(concerns),
        links=_links(message, concerns, ledger),
        source=read_source(message, concerns, ledger),
        stamp=instant(
            message.bundle.timestamp if message.bundle else None, "Bundle.timestamp", ledger
        ),
        referred=_referred(message, ledger) if bars else None,
        profiles=recognised_profiles(message),
        context=context,
    )
    groups = _groups(message, concerns, ledger)
    findings = _findings_by_group(ledger.findings, groups)
    envelopes = [
        envelope
        for group in groups
        if (envelope := _envelope(group, shared, findings(group), ledger)) is not None
    ]
    if ledger.errors:
        raise ParseFailed(ledger.errors)
    return envelopes


def _links(message: Message, concerns: list[ConcernFacts], ledger: Ledger) -> _Links:
    """Each RelatedPerson and Consent under the person it is about.

    A reference to a Patient outside the message is followed only when a concern names
    the same person; otherwise it is an error, as any unresolved needed reference is.
    """
    absent = {person_key(c.person) for c in concerns if isinstance(c.person, Absent)}
    found: dict[str, defaultdict[str, list[Located]]] = {
        "RelatedPerson": defaultdict(list),
        "Consent": defaultdict(list),
    }
    for kind, by_person in found.items():
        for located in message.of_type(kind):
            reference = getattr(located.resource, "patient", None)
            person = message.person(reference, located, "patient", ledger, lenient=True)
            if isinstance(person, Absent) and person_key(person) not in absent:
                message.link(reference, located, "patient", ledger)
                continue
            if person is not None:
                by_person[person_key(person)].append(located)
    related, consents = ({k: tuple(v) for k, v in m.items()} for m in found.values())
    return _Links(related=related, consents=consents)


def _referred(message: Message, ledger: Ledger) -> datetime | None:
    times = [
        instant(entry.resource.authoredOn, f"{entry.path}.authoredOn", ledger)
        for entry in message.of_type("ServiceRequest")
        if isinstance(entry.resource, ServiceRequest)
    ]
    return min((t for t in times if t is not None), default=None)


def _groups(message: Message, concerns: list[ConcernFacts], ledger: Ledger) -> list[_Group]:
    by_person: dict[str, list[ConcernFacts]] = defaultdict(list)
    about: dict[str, Person] = {}
    for concern in concerns:
        if concern.person is not None:
            key = person_key(concern.person)
            by_person[key].append(concern)
            about.setdefault(key, concern.person)
    others = [p for p in message.of_type("Patient") if person_key(p) not in about]
    if message.bundle_type == "message":
        return [_Group(0, tuple(concerns), (*about.values(), *others))] if about else []
    for located in others:
        text = "a Patient that no item of safeguarding content is about: not used"
        ledger.note("patient_not_referenced", located.path, text)
    return [
        _Group(index, tuple(by_person[key]), (person,))
        for index, (key, person) in enumerate(about.items())
    ]


def _findings_by_group(
    findings: list[QualityFinding], groups: list[_Group]
) -> Callable[[_Group], list[QualityFinding]]:
    """Split the message's findings: a concern's go to its group, the rest to every group."""
    owner = {c.located.path: group.index for group in groups for c in group.concerns}
    own: defaultdict[int, list[tuple[int, QualityFinding]]] = defaultdict(list)
    shared: list[tuple[int, QualityFinding]] = []
    for position, found in enumerate(findings):
        match = _RESOURCE_PATH.match(found.field)
        group = owner.get(match.group(0)) if match else None
        (shared if group is None else own[group]).append((position, found))

    def of(group: _Group) -> list[QualityFinding]:
        return [found for _, found in heapq.merge(own[group.index], shared, key=itemgetter(0))]

    return of


def _envelope(
    group: _Group, shared: _Shared, findings: list[QualityFinding], parent: Ledger
) -> Envelope | None:
    ledger = parent.for_envelope()
    ledger.findings.extend(findings)
    errors_before = len(ledger.errors)
    occurred_at, reported_at = _times(group, shared)
    source = shared.source
    reference = f"{source.org_code}|{source.partner_reference}" if source else "no-reference"
    keys = Keys(shared.context, f"{reference}|{group.index}")
    subjects = group_subjects(
        group.concerns,
        group.people,
        related_of=lambda person: shared.links.related_to([person]),
        event=occurred_at,
        keys=keys,
        ledger=ledger,
    )
    consent = read_consent(
        shared.links.consents_of(group.people),
        ConsentContext(
            where=root_path(shared.message),
            holders=_holders(shared.message, group),
            recorded_by=source.submitted_by if source else "not stated",
            recorded_at=reported_at.astimezone(UTC),
        ),
        ledger,
    )
    concerns = _concerns(group, subjects, ledger)
    narrative = _narrative(group, ledger)
    if source is None or consent is None or not subjects or len(ledger.errors) > errors_before:
        return None
    access = all(c.access is not None for c in group.concerns)
    try:
        return Envelope(
            message_id=message_id_for(
                Partner.HEALTH, source.org_code, source.partner_reference, group.index
            ),
            partner=Partner.HEALTH,
            source=source,
            kind=ACCESS_KIND if access else KIND,
            occurred_at=occurred_at.astimezone(UTC),
            reported_at=reported_at.astimezone(UTC),
            received_at=shared.context.received_at,
            subject_key=primary_subject_key(subjects),
            subjects=tuple(subjects),
            risk=_risk(group),
            consent=consent,
            concerns=concerns,
            narrative=narrative,
            quality=Quality.from_findings(ledger.findings),
            plans=_plans(group),
            accesses=tuple(c.access for c in group.concerns if c.access is not None),
            profiles=shared.profiles,
        )
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            ledger.invalid(root_path(shared.message), f"envelope: {err['msg']}")
        return None


def _times(group: _Group, shared: _Shared) -> tuple[datetime, datetime]:
    """When it happened and when it was reported, in the sender's own offset.

    The event is the earliest ServiceRequest, Communication or access (or a BaRS
    referral's time); failing those, the latest Flag or plan. The report is the
    Bundle's timestamp, else the latest item.
    """
    events = [c.time for c in group.concerns if c.time and not _is_state(c)]
    if shared.referred is not None:
        events.append(shared.referred)
    states = [c.time for c in group.concerns if c.time and _is_state(c)]
    occurred = min(events) if events else max(states, default=None)
    latest = max([*events, *states], default=None)
    reported = shared.stamp or latest or shared.context.received_at
    return occurred or reported, reported


def _is_state(concern: ConcernFacts) -> bool:
    return isinstance(concern.located.resource, _STATES)


def _holders(message: Message, group: _Group) -> tuple[tuple[str, object], ...]:
    """Where the legal-grounds extensions may sit besides the Consent."""
    holders = [(c.located.path, c.located.resource) for c in group.concerns]
    if message.header is not None:
        holders.append((message.entries[0].path, message.header))
    return tuple(holders)


def _risk(group: _Group) -> Risk:
    """The highest priority sent, raised to high by an active flag of harm."""
    sent = [c.priority for c in group.concerns if c.priority]
    grade = max(sent, key=lambda p: PRIORITY_RISK[p][0], default=None)
    level, rag = (PRIORITY_RISK[grade][1:]) if grade else (RiskLevel.STANDARD, Rag.GREEN)
    if any(c.harm_flag for c in group.concerns) and level is not RiskLevel.HIGH:
        level, rag = HARM_FLAG_RISK
    return Risk(tool=RiskTool.NONE, partner_grade=grade or NO_GRADE, level=level, rag=rag)


def _plans(group: _Group) -> tuple[Plan, ...]:
    """Each plan once; a plan of unstated type only when no typed plan is reported."""
    plans = list(dict.fromkeys(plan for c in group.concerns for plan in c.plans))
    typed = [plan for plan in plans if plan.type is not None]
    return tuple(typed or plans[:1])


def _concerns(group: _Group, subjects: list[Subject], ledger: Ledger) -> tuple[Concern, ...]:
    found = list(dict.fromkeys(c for facts in group.concerns for c in facts.concerns))
    cpis = any(c.cpis for c in group.concerns)
    unborn = PlanType.UNBORN_CHILD_PROTECTION_PLAN
    if Concern.PREGNANCY not in found and any(
        p.type is unborn for c in group.concerns for p in c.plans
    ):
        found.append(Concern.PREGNANCY)
    if not found and group.concerns and not cpis:
        text = "no concern code from the hub's concern code system: recorded as other"
        ledger.note("concern_uncoded", group.concerns[0].located.path, text)
    children = any(subject.is_child for subject in subjects)
    if subjects and not children and not cpis and Concern.PREGNANCY not in found:
        if Concern.CHILD_PROTECTION in found:
            text = (
                "the concern is a child's, but the message names no child: routed as an "
                "adult at risk; send the child's Patient for children's services to see it"
            )
            ledger.warn("child_concern_without_child", group.concerns[0].located.path, text)
        if Concern.ADULT_AT_RISK not in found:
            found.append(Concern.ADULT_AT_RISK)
    if found or (group.concerns and all(c.access is not None for c in group.concerns)):
        return tuple(found)
    return (Concern.OTHER,)


def _narrative(group: _Group, ledger: Ledger) -> str:
    text = "\n\n".join(t for facts in group.concerns for t in facts.texts)
    if len(text) > NARRATIVE_MAX:
        where = group.concerns[0].located.path
        ledger.note("narrative_truncated", where, f"text cut to {NARRATIVE_MAX} characters")
        return text[:NARRATIVE_MAX]
    return text
