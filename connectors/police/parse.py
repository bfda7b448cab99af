"""Parse police notifications, JSON or a CSV batch, into envelopes.

How the format maps to the envelope is documented field by field in
``docs/formats/police.md``. In short: the kind is ``police.notification.<type>``;
the officer's grade is kept verbatim and mapped to a canonical level, which a
professional judgement of high risk can raise but never lower; the consent status
comes from what victims, parents or carers, and children said; police processing is
under DPA 2018 Part 3 unless the force says otherwise.
"""

from __future__ import annotations

from datetime import UTC

from connectors.errors import FieldError, ParseFailed
from connectors.grades import map_grade, with_judgement
from connectors.identity import message_id_for, primary_subject_key
from connectors.native import birth_date_errors, contract_errors, media_type, parse_json_model
from connectors.police._csv import Locator, read_batch
from connectors.police.format import (
    ConsentFacts,
    ConsentToShare,
    NotificationType,
    Person,
    PoliceNotification,
)
from connectors.protocol import ParseContext
from connectors.subjects import build_subject, consent_gaps, finding
from schemas.common import (
    Concern,
    ConsentStatus,
    LawfulBasis,
    Partner,
    RiskTool,
    SpecialCategoryCondition,
    SubjectRole,
)
from schemas.envelope import (
    Consent,
    Envelope,
    Quality,
    QualityFinding,
    Risk,
    Source,
    Subject,
    age_on,
    is_child,
)

CONTENT_TYPES: tuple[str, ...] = ("application/json", "text/csv")
"""The media types the police connector reads."""

DASH_QUESTIONS = 24

_TYPE_CONCERN: dict[NotificationType, Concern] = {
    NotificationType.DOMESTIC_ABUSE: Concern.DOMESTIC_ABUSE,
    NotificationType.ADULT_AT_RISK: Concern.ADULT_AT_RISK,
    NotificationType.MISSING_PERSON: Concern.MISSING,
    NotificationType.PERSON_POSING_RISK: Concern.PERSON_POSING_RISK,
}
_CONSENTING = frozenset({SubjectRole.VICTIM, SubjectRole.PARENT_CARER, SubjectRole.CHILD})
"""Whose answer to consent_to_share decides the message's consent status."""

_NOT_GIVEN = "consent_to_share is not yes for any person (victim, parent_carer or child)"


def parse(raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
    """Parse one JSON notification, or a CSV batch of many, into envelopes."""
    if media_type(content_type, CONTENT_TYPES) == "text/csv":
        return _parse_batch(raw, context)
    notification = parse_json_model(PoliceNotification, raw)
    errors = notification_errors(notification)
    if errors:
        raise ParseFailed(errors)
    return [to_envelope(notification, context, default_system="json")]


def _parse_batch(raw: bytes, context: ParseContext) -> list[Envelope]:
    """All notifications of a batch, or every error in it: a batch is accepted whole."""
    notifications, errors = read_batch(raw)
    for notification, locate in notifications:
        errors.extend(
            FieldError(locate(e.field), e.message) for e in notification_errors(notification)
        )
    if errors:
        raise ParseFailed(errors)
    return [
        to_envelope(notification, context, default_system="csv-batch", locate=locate)
        for notification, locate in notifications
    ]


# ------------------------------------------------------------------------ checks


def notification_errors(notification: PoliceNotification) -> list[FieldError]:
    """The rules across fields that the format's models cannot state."""
    n = notification
    errors = []
    if n.reported_at is not None and n.reported_at < n.occurred_at:
        errors.append(FieldError("reported_at", "is before occurred_at"))
    if n.risk_score is not None and n.risk_tool in {None, RiskTool.NONE}:
        errors.append(FieldError("risk_score", "a score needs a risk_tool (DASH or DARA)"))
    if n.risk_tool is RiskTool.DASH and (n.risk_score or 0) > DASH_QUESTIONS:
        errors.append(FieldError("risk_score", "a DASH score is 0 to 24"))
    if n.professional_judgement_high and n.judgement_rationale is None:
        message = "required when professional_judgement_high is true"
        errors.append(FieldError("judgement_rationale", message))
    for index, person in enumerate(n.persons):
        errors += _person_errors(person, f"persons.{index}", n)
    status, because = consent_position(n.persons)
    facts = n.consent or ConsentFacts()
    errors += consent_gaps(
        status,
        no_consent_reason=facts.no_consent_reason,
        statutory_gateway=facts.statutory_gateway,
        prefix="consent",
        because=because,
    )
    return errors


def _person_errors(person: Person, where: str, n: PoliceNotification) -> list[FieldError]:
    errors = birth_date_errors(person.date_of_birth, n.occurred_at, f"{where}.date_of_birth")
    errors += _child_only_errors(person, where, n)
    if person.role is SubjectRole.UNBORN_CHILD:
        if person.date_of_birth is not None:
            message = "an unborn child has no date of birth; send expected_date_of_birth"
            errors.append(FieldError(f"{where}.date_of_birth", message))
        return errors
    errors += [
        FieldError(f"{where}.{name}", "required unless the role is unborn_child")
        for name in ("given_name", "family_name")
        if getattr(person, name) is None
    ]
    if person.expected_date_of_birth is not None:
        message = "only for a person whose role is unborn_child"
        errors.append(FieldError(f"{where}.expected_date_of_birth", message))
    return errors


_CHILD_ONLY = ("location_during_incident", "child_voice", "elective_home_education")
"""A child's fields for the Operation Encompass notice."""


def _child_only_errors(person: Person, where: str, n: PoliceNotification) -> list[FieldError]:
    """The Encompass fields are a child's (by role, or under 18); home education has no school."""
    age = age_on(person.date_of_birth, n.occurred_at) if person.date_of_birth else None
    child = person.role is not SubjectRole.UNBORN_CHILD and is_child(person.role, age)
    errors = [
        FieldError(f"{where}.{name}", "only for a child (role child, or under 18)")
        for name in _CHILD_ONLY
        if getattr(person, name) is not None and not child
    ]
    if person.elective_home_education and person.school_urn is not None:
        message = "a child in elective home education has no school: leave out school_urn"
        errors.append(FieldError(f"{where}.school_urn", message))
    return errors


def consent_position(persons: list[Person]) -> tuple[ConsentStatus, str]:
    """The message's consent status from the persons' answers, and why.

    A yes from any victim, parent or carer, or child gives consent; otherwise a no
    from one of them is a refusal; otherwise consent was not sought. The answers of
    a person causing harm and of other roles do not count.
    """
    answers = [(i, p.consent_to_share) for i, p in enumerate(persons) if p.role in _CONSENTING]
    yes = next((i for i, answer in answers if answer is ConsentToShare.YES), None)
    if yes is not None:
        return ConsentStatus.GIVEN, f"consent_to_share is yes for persons.{yes}"
    if any(answer is ConsentToShare.NO for _, answer in answers):
        return ConsentStatus.REFUSED, _NOT_GIVEN
    return ConsentStatus.NOT_SOUGHT, _NOT_GIVEN


# ------------------------------------------------------------------------ mapping


def to_envelope(
    notification: PoliceNotification,
    context: ParseContext,
    *,
    default_system: str,
    locate: Locator | None = None,
) -> Envelope:
    """Map a checked notification to its envelope.

    ``locate`` places findings in the partner's input (rows and columns of a batch);
    without it they keep the JSON field paths.
    """
    n = notification
    with contract_errors():
        subjects: list[Subject] = []
        findings: list[QualityFinding] = []
        for index, person in enumerate(n.persons):
            subject, found = _subject(person, index, n, context)
            subjects.append(subject)
            findings += found
        findings += _consent_conflict(n.persons)
        return Envelope(
            message_id=message_id_for(Partner.POLICE, n.force_code, n.reference),
            partner=Partner.POLICE,
            source=Source(
                org_code=n.force_code,
                system=n.system or default_system,
                partner_reference=n.reference,
                submitted_by=n.submitted_by,
            ),
            kind=f"police.notification.{n.notification_type.value}",
            occurred_at=n.occurred_at.astimezone(UTC),
            reported_at=(n.reported_at or n.occurred_at).astimezone(UTC),
            received_at=context.received_at,
            subject_key=primary_subject_key(subjects),
            subjects=tuple(subjects),
            risk=_risk(n),
            consent=_consent(n),
            concerns=_concerns(n),
            narrative=n.summary,
            incident_location=n.incident_location,
            quality=Quality.from_findings(
                [f.model_copy(update={"field": locate(f.field)}) for f in findings]
                if locate
                else findings
            ),
        )


def _subject(
    person: Person, index: int, n: PoliceNotification, context: ParseContext
) -> tuple[Subject, list[QualityFinding]]:
    where = f"persons.{index}"
    return build_subject(
        context,
        where=where,
        fallback=f"police|{n.force_code}|{n.reference}|{where}",
        role=person.role,
        occurred_at=n.occurred_at,
        given_name=person.given_name,
        family_name=person.family_name,
        date_of_birth=person.date_of_birth,
        expected_date_of_birth=person.expected_date_of_birth,
        nhs_number=person.nhs_number,
        postcode=person.postcode,
        address=person.address,
        school_urn=person.school_urn,
        present=person.present,
        witnessed=person.witnessed,
        injured=person.injured,
        resides_at_address=person.resides_at_address,
        works_with_children=person.works_with_children,
        elective_home_education=person.elective_home_education,
        location_during_incident=person.location_during_incident,
        voice=person.child_voice,
    )


def _consent_conflict(persons: list[Person]) -> list[QualityFinding]:
    answers = {p.consent_to_share for p in persons if p.role in _CONSENTING}
    if not {ConsentToShare.YES, ConsentToShare.NO} <= answers:
        return []
    index = next(
        i
        for i, p in enumerate(persons)
        if p.role in _CONSENTING and p.consent_to_share is ConsentToShare.NO
    )
    message = "one person said yes to sharing and another no; consent is taken as given"
    return [finding("consent_conflict", f"persons.{index}.consent_to_share", message)]


def _risk(n: PoliceNotification) -> Risk:
    mapped = map_grade(n.risk_grade)
    if mapped is None:  # the format refused it already; kept for the type checker
        raise ParseFailed([FieldError("risk_grade", "unknown risk grade")])
    level, rag = with_judgement(*mapped, judged_high=n.professional_judgement_high)
    return Risk(
        tool=n.risk_tool or RiskTool.NONE,
        score=n.risk_score,
        partner_grade=n.risk_grade,
        level=level,
        rag=rag,
        professional_judgement=n.professional_judgement_high,
        judgement_rationale=n.judgement_rationale,
    )


def _consent(n: PoliceNotification) -> Consent:
    status, _ = consent_position(n.persons)
    facts = n.consent or ConsentFacts()
    return Consent(
        status=status,
        recorded_by=facts.recorded_by or n.submitted_by,
        recorded_at=(facts.recorded_at or n.reported_at or n.occurred_at).astimezone(UTC),
        lawful_basis=facts.lawful_basis or LawfulBasis.LAW_ENFORCEMENT,
        special_category_condition=(
            facts.special_category_condition or SpecialCategoryCondition.SAFEGUARDING_POLICE
        ),
        no_consent_reason=facts.no_consent_reason,
        statutory_gateway=facts.statutory_gateway,
    )


def _concerns(n: PoliceNotification) -> tuple[Concern, ...]:
    """The type's concern, the force's own, then pregnancy and allegation when seen."""
    found = [_TYPE_CONCERN[n.notification_type]] if n.notification_type in _TYPE_CONCERN else []
    found += n.concerns
    if any(p.pregnant or p.role is SubjectRole.UNBORN_CHILD for p in n.persons):
        found.append(Concern.PREGNANCY)
    if any(
        p.role is SubjectRole.PROFESSIONAL_SUBJECT
        or (p.role is SubjectRole.PERSON_CAUSING_HARM and p.works_with_children)
        for p in n.persons
    ):
        found.append(Concern.ALLEGATION_AGAINST_PROFESSIONAL)
    return tuple(dict.fromkeys(found))
