"""The subjects of one envelope: the people its items are about, and their relatives.

=========================================  ==========================================
person                                     role
=========================================  ==========================================
a Patient an item is about                 by age (:mod:`.people`): child, or victim
a person named by reference only           child (age unknown: fail-safe), or victim
                                           when the concern is an adult's
another Patient of a message Bundle        child under 18, else household member
a RelatedPerson of one of them             by relationship (:mod:`.people`)
=========================================  ==========================================

CP-IS holds plans about children, and an unborn child's plan against the pregnant
woman: an adult a CP-IS item is about is never read as an adult at risk. She is the
``parent_carer`` of an unborn child under a plan, and otherwise kept as she is, with a
finding, for the MASH to check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.relatedperson import RelatedPerson

from connectors.health._fhir.concern import ConcernFacts
from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.message import Absent, Located, Person, person_key
from connectors.health._fhir.people import (
    Keys,
    absent_subject,
    has_parent_contact,
    patient_subject,
    related_role,
    related_subject,
)
from connectors.health.format import CHILD_ONLY_CONCERNS
from schemas.common import Concern, PlanType, SubjectRole
from schemas.envelope import Subject


def group_subjects(
    items: Sequence[ConcernFacts],
    people: Sequence[Person],
    *,
    related_of: Callable[[Person], list[Located]],
    event: datetime,
    keys: Keys,
    ledger: Ledger,
) -> list[Subject]:
    """The subjects of the people (in order), then of their RelatedPersons."""
    about = {person_key(c.person) for c in items if c.person is not None}
    children = _marked_children(items, people, related_of)
    adults = _adult_concerns(items)
    subjects: list[Subject | None] = []
    for person in people:
        key = person_key(person)
        if isinstance(person, Absent):
            role = (
                SubjectRole.VICTIM if key in adults and key not in children else SubjectRole.CHILD
            )
            subjects.append(absent_subject(person, role=role, keys=keys, ledger=ledger))
            continue
        subject = patient_subject(
            person,
            about=key in about,
            child_hint=key in children,
            event=event,
            keys=keys,
            ledger=ledger,
        )
        subjects.append(_cpis_adult(subject, person, items, ledger))
    subjects += [
        related_subject(r, event=event, keys=keys, ledger=ledger)
        for person in people
        for r in related_of(person)
    ]
    return [subject for subject in subjects if subject is not None]


def _marked_children(
    items: Sequence[ConcernFacts],
    people: Sequence[Person],
    related_of: Callable[[Person], list[Located]],
) -> set[str]:
    """People the message marks as children: a child's concern, CP-IS, or a parent."""
    marked = {
        person_key(c.person)
        for c in items
        if c.person is not None
        and (CHILD_ONLY_CONCERNS.intersection(c.concerns) or c.access is not None)
    }
    for person in people:
        if not isinstance(person, Located):
            continue
        parents = [
            r
            for r in related_of(person)
            if isinstance(r.resource, RelatedPerson)
            and related_role(r.resource) is SubjectRole.PARENT_CARER
        ]
        contact = isinstance(person.resource, Patient) and has_parent_contact(person.resource)
        if parents or contact:
            marked.add(person_key(person))
    return marked


def _adult_concerns(items: Sequence[ConcernFacts]) -> set[str]:
    """People whose concerns are an adult's only (adult at risk, no child's concern)."""
    return {
        person_key(c.person)
        for c in items
        if c.person is not None
        and Concern.ADULT_AT_RISK in c.concerns
        and not c.cpis
        and not CHILD_ONLY_CONCERNS.intersection(c.concerns)
    }


def _cpis_adult(
    subject: Subject | None, person: Located, items: Sequence[ConcernFacts], ledger: Ledger
) -> Subject | None:
    """An adult a CP-IS item is about: the mother of an unborn child, or kept with a finding."""
    mine = [c for c in items if c.cpis and c.person is person]
    if subject is None or not mine or subject.is_child:
        return subject
    unborn = any(p.type is PlanType.UNBORN_CHILD_PROTECTION_PLAN for c in mine for p in c.plans)
    if unborn:
        return subject.model_copy(update={"role": SubjectRole.PARENT_CARER})
    text = (
        "CP-IS information about a person aged 18 or over: not read as an adult at risk; "
        "the MASH checks whose plan it is"
    )
    ledger.warn("cpis_subject_adult", f"{person.path}.birthDate", text)
    return subject
