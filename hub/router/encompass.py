"""Operation Encompass copies: the minimum the statutory guidance lists, per child.

The Home Office statutory guidance on the Domestic Abuse Act 2021 s49A duty
(November 2025) says what a school is told after a domestic abuse incident: the
child's name and date of birth, the school, the police reference, the incident's
location, date and time, whether the child was present and where, and the child's
voice where recorded. Each copy is built here from an allow-list (DESIGN.md section
14), never by removing fields from the message: its clear part is
:class:`~schemas.routed.EncompassMetadata` and :class:`~schemas.routed.EncompassDecision`,
its sealed part :class:`~schemas.routed.EncompassNotice`. Nothing about the adults,
the other children, roles, concerns, risk, consent, history or other areas' reasons
is in any of them.

A child in elective home education has no school: the notice goes to the local
authority's children's services (``recipient``), in the same area.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.policy import Decision, Policy
from schemas.common import SCHOOL_AGE, Area
from schemas.envelope import RoutingMetadata, SensitiveContent, SubjectDetails, SubjectMeta
from schemas.routed import (
    EncompassDecision,
    EncompassMetadata,
    EncompassNotice,
    EncompassRecipient,
)


@dataclass(frozen=True)
class EncompassCopy:
    """One child's notice: what travels in clear, and what is sealed for ``encompass``."""

    metadata: EncompassMetadata
    notice: EncompassNotice


def notified(subject: SubjectMeta) -> bool:
    """Whether a subject gets a notice: a school-age child with a school or home-educated."""
    return (
        subject.is_child
        and subject.age_years in SCHOOL_AGE
        and (subject.has_school or bool(subject.elective_home_education))
    )


def encompass_copies(meta: RoutingMetadata, content: SensitiveContent) -> list[EncompassCopy]:
    """A copy per notified child of the message, in the order of its subjects."""
    copies = []
    for index, (subject, details) in enumerate(zip(meta.subjects, content.subjects, strict=True)):
        if not notified(subject):
            continue
        recipient = _recipient(subject, details)
        if recipient is None:
            continue
        copies.append(
            EncompassCopy(
                EncompassMetadata(
                    message_id=meta.message_id,
                    partner=meta.partner,
                    org_code=meta.org_code,
                    partner_reference=meta.partner_reference,
                    kind=meta.kind,
                    occurred_at=meta.occurred_at,
                    reported_at=meta.reported_at,
                    received_at=meta.received_at,
                    subject_key=meta.subject_key,
                    child_index=index,
                    recipient=recipient,
                ),
                EncompassNotice(
                    recipient=recipient,
                    child_given_name=details.given_name,
                    child_family_name=details.family_name,
                    child_date_of_birth=details.date_of_birth,
                    school_urn=details.school_urn
                    if recipient is EncompassRecipient.SCHOOL
                    else None,
                    police_reference=meta.partner_reference,
                    occurred_at=meta.occurred_at,
                    incident_location=content.incident_location,
                    present=subject.present,
                    location_during_incident=details.location_during_incident,
                    child_voice=details.voice,
                ),
            )
        )
    return copies


def _recipient(subject: SubjectMeta, details: SubjectDetails) -> EncompassRecipient | None:
    if subject.elective_home_education:
        return EncompassRecipient.LA_CHILDRENS_SERVICES
    if details.school_urn:
        return EncompassRecipient.SCHOOL
    return None


def encompass_decision(
    policy: Policy, decision: Decision, decided_at: datetime
) -> EncompassDecision:
    """The decision as an Encompass copy tells it: only the rules that routed it there."""
    mine = [r for r in policy.rules if r.id in decision.rules and Area.ENCOMPASS in r.route]
    return EncompassDecision(
        rules=tuple(r.id for r in mine),
        rationale=tuple(f"{r.title}: {r.rationale}" for r in mine),
        policy_version=decision.policy_version,
        decided_at=decided_at,
    )
