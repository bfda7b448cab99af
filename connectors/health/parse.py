"""Parse a health partner's FHIR R4 message into envelopes: the connector's pure core.

:func:`parse` decodes the bytes (:mod:`.decode`), indexes the resources
(:mod:`.message`), reads each concern (:mod:`.concern`), then builds one envelope per
group of concerns:

- a **message** Bundle is one event, so one envelope, whose subjects are every
  Patient in it (and their RelatedPersons);
- a **batch**, **transaction** or **collection** carries independent items, so one
  envelope per Patient that a concern is about, numbered in order of appearance;
- a single Flag, ServiceRequest or Communication is one envelope about the Patient
  it contains.

Every problem anywhere in the message is collected first; then either all envelopes
are returned, or :class:`~connectors.errors.ParseFailed` lists every error.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter

from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.relatedperson import RelatedPerson
from pydantic import ValidationError

from connectors.errors import ParseFailed
from connectors.health._fhir.concern import ConcernFacts, read_concern
from connectors.health._fhir.consent import ConsentContext, read_consent
from connectors.health._fhir.decode import decode
from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.message import Located, Message, read_message
from connectors.health._fhir.people import (
    Keys,
    has_parent_contact,
    patient_subject,
    related_role,
    related_subject,
)
from connectors.health._fhir.source import read_source, root_path
from connectors.health._fhir.values import instant
from connectors.health.format import (
    CHILD_ONLY_CONCERNS,
    CONCERN_TYPES,
    HARM_FLAG_RISK,
    KIND,
    NO_GRADE,
    PRIORITY_RISK,
)
from connectors.identity import message_id_for, primary_subject_key
from connectors.protocol import ParseContext
from schemas.common import Concern, Partner, Rag, RiskLevel, RiskTool, SubjectRole
from schemas.envelope import Envelope, Quality, QualityFinding, Risk, Source, Subject

NARRATIVE_MAX = 20_000
_RESOURCE_PATH = re.compile(r"Bundle\.entry\[\d+\]\.resource|[A-Z][A-Za-z]*")
"""The resource a finding's FHIRPath is in: a Bundle entry, or the root resource."""


@dataclass(frozen=True)
class _Group:
    """The concerns of one envelope and the Patients it is about."""

    index: int
    concerns: tuple[ConcernFacts, ...]
    patients: tuple[Located, ...]


@dataclass(frozen=True)
class _Links:
    """RelatedPersons and Consents by the Patient they refer to (its ``id()``)."""

    related: Mapping[int, tuple[Located, ...]]
    consents: Mapping[int, tuple[Located, ...]]

    def related_to(self, patients: Iterable[Located]) -> list[Located]:
        """The RelatedPersons of these Patients."""
        return [r for patient in patients for r in self.related.get(id(patient), ())]

    def consents_of(self, patients: Iterable[Located]) -> list[Located]:
        """The Consents about these Patients."""
        return [c for patient in patients for c in self.consents.get(id(patient), ())]


@dataclass(frozen=True)
class _Shared:
    """What every envelope of one message shares."""

    message: Message
    concerns: tuple[ConcernFacts, ...]
    links: _Links
    source: Source | None
    stamp: datetime | None
    context: ParseContext


def parse(raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
    """Parse a FHIR R4 document into envelopes, or raise ParseFailed with every error."""
    ledger = Ledger()
    message = read_message(decode(raw, content_type), ledger)
    concerns = [read_concern(c, message, ledger) for c in message.of_type(*CONCERN_TYPES)]
    if not concerns:
        text = "no Flag, ServiceRequest or Communication in the message"
        ledger.required(root_path(message), text)
    if message.bundle is not None and not message.of_type("Patient"):
        ledger.required("Bundle.entry", "no Patient in the message")
    shared = _Shared(
        message=message,
        concerns=tuple(concerns),
        links=_links(message, ledger),
        source=read_source(message, concerns, ledger),
        stamp=instant(
            message.bundle.timestamp if message.bundle else None, "Bundle.timestamp", ledger
        ),
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


def _links(message: Message, ledger: Ledger) -> _Links:
    found: dict[str, defaultdict[int, list[Located]]] = {
        "RelatedPerson": defaultdict(list),
        "Consent": defaultdict(list),
    }
    for kind, by_patient in found.items():
        for located in message.of_type(kind):
            reference = getattr(located.resource, "patient", None)
            target = message.link(reference, located, "patient", ledger)
            if target is not None:
                by_patient[id(target)].append(located)
    related, consents = ({k: tuple(v) for k, v in m.items()} for m in found.values())
    return _Links(related=related, consents=consents)


def _groups(message: Message, concerns: list[ConcernFacts], ledger: Ledger) -> list[_Group]:
    by_patient: dict[int, list[ConcernFacts]] = defaultdict(list)
    about: dict[int, Located] = {}
    for concern in concerns:
        if concern.patient is not None:
            by_patient[id(concern.patient)].append(concern)
            about.setdefault(id(concern.patient), concern.patient)
    others = [p for p in message.of_type("Patient") if id(p) not in about]
    if message.bundle_type == "message":
        return [_Group(0, tuple(concerns), (*about.values(), *others))] if about else []
    for located in others:
        text = "a Patient that no Flag, ServiceRequest or Communication is about: not used"
        ledger.note("patient_not_referenced", located.path, text)
    return [
        _Group(index, tuple(by_patient[key]), (patient,))
        for index, (key, patient) in enumerate(about.items())
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
    subjects = _subjects(group, shared.links, occurred_at, keys, ledger)
    consent = read_consent(
        shared.links.consents_of(group.patients),
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
    try:
        return Envelope(
            message_id=message_id_for(
                Partner.HEALTH, source.org_code, source.partner_reference, group.index
            ),
            partner=Partner.HEALTH,
            source=source,
            kind=KIND,
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
        )
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            ledger.invalid(root_path(shared.message), f"envelope: {err['msg']}")
        return None


def _times(group: _Group, shared: _Shared) -> tuple[datetime, datetime]:
    """When it happened and when it was reported, in the sender's own offset.

    The event is the earliest ServiceRequest or Communication; failing those, the
    latest Flag. The report is the Bundle's timestamp, else the latest concern.
    """
    requests = [c.time for c in group.concerns if c.time and not _is_flag(c)]
    flags = [c.time for c in group.concerns if c.time and _is_flag(c)]
    occurred = min(requests) if requests else max(flags, default=None)
    latest = max([*requests, *flags], default=None)
    reported = shared.stamp or latest or shared.context.received_at
    return occurred or reported, reported


def _is_flag(concern: ConcernFacts) -> bool:
    return isinstance(concern.located.resource, Flag)


def _subjects(
    group: _Group, links: _Links, event: datetime, keys: Keys, ledger: Ledger
) -> list[Subject]:
    about = {id(c.patient) for c in group.concerns if c.patient is not None}
    children = _marked_children(group, links)
    subjects = [
        patient_subject(
            patient,
            about=id(patient) in about,
            child_hint=id(patient) in children,
            event=event,
            keys=keys,
            ledger=ledger,
        )
        for patient in group.patients
    ]
    subjects += [
        related_subject(related, event=event, keys=keys, ledger=ledger)
        for related in links.related_to(group.patients)
    ]
    return [subject for subject in subjects if subject is not None]


def _marked_children(group: _Group, links: _Links) -> set[int]:
    """Patients the message marks as children: a child's concern code, or a parent."""
    marked = {
        id(c.patient)
        for c in group.concerns
        if c.patient is not None and CHILD_ONLY_CONCERNS.intersection(c.concerns)
    }
    for patient in group.patients:
        parents = [
            r
            for r in links.related_to([patient])
            if isinstance(r.resource, RelatedPerson)
            and related_role(r.resource) is SubjectRole.PARENT_CARER
        ]
        contact = isinstance(patient.resource, Patient) and has_parent_contact(patient.resource)
        if parents or contact:
            marked.add(id(patient))
    return marked


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


def _concerns(group: _Group, subjects: list[Subject], ledger: Ledger) -> tuple[Concern, ...]:
    found = list(dict.fromkeys(c for facts in group.concerns for c in facts.concerns))
    if not found and group.concerns:
        text = "no concern code from the hub's concern code system: recorded as other"
        ledger.note("concern_uncoded", group.concerns[0].located.path, text)
    if subjects and not any(subject.is_child for subject in subjects):
        found.append(Concern.ADULT_AT_RISK)
    return tuple(found or [Concern.OTHER])


def _narrative(group: _Group, ledger: Ledger) -> str:
    text = "\n\n".join(t for facts in group.concerns for t in facts.texts)
    if len(text) > NARRATIVE_MAX:
        where = group.concerns[0].located.path
        ledger.note("narrative_truncated", where, f"text cut to {NARRATIVE_MAX} characters")
        return text[:NARRATIVE_MAX]
    return text
