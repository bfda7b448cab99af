"""CP-IS (Child Protection - Information Sharing): plans, and access notifications.

A **plan** is a CarePlan or CareTeam whose ``category`` is a code of NHS England's
``England-ChildProtectionPlan`` value set (child protection plan, looked-after child,
unborn child protection plan). The local authority holding it is the CareTeam's
``name`` (a CarePlan names its CareTeam in ``careTeam``). A CP-IS Flag points at its
CarePlan with the ``flag-detail`` extension; without one, it still says there is a
plan, of a type it does not give.

An **access notification** is an AuditEvent of the ISO 21089 lifecycle event
*access* (the CP-IS API omits the code): the child's record was opened in unscheduled
care. The child is the agent of type ``PAT`` (CP-IS API) or an entity (the Patient
Flag audit); the setting is the organisation of the PractitionerRole that looked. The
professional's name is never read: only their role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.practitionerrole import PractitionerRole
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError

from connectors.health._fhir.concern import ConcernFacts
from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.message import Located, Message, Person
from connectors.health._fhir.values import concept_text, instant, short
from connectors.health.format import (
    AUDIT_ACCESS_CODE,
    AUDIT_LIFECYCLE_SYSTEM,
    FLAG_DETAIL_URL,
    NHS_NUMBER_SYSTEM,
    ODS_SYSTEM,
    ODS_SYSTEMS,
    PATIENT_AGENT_CODE,
    PLAN_TYPES,
    SNOMED_SYSTEMS,
)
from schemas.common import Concern, PlanType
from schemas.envelope import Plan, UnscheduledCareAccess

_BRACKETED_ODS = re.compile(r"\(([A-Z0-9]{3,10})\)\s*$")
"""An ODS code at the end of an organisation's display, as the CP-IS API writes it."""
_PATIENT = re.compile(r"(^|/)Patient/[^/]+$")
_PLAN_STATUSES = frozenset({"draft", "active", "on-hold", "revoked", "completed", "unknown"})
_ACCESS_CODES = frozenset({None, AUDIT_ACCESS_CODE})


def plan_type(located: Located) -> PlanType | None:
    """The plan a CarePlan's or CareTeam's category names, if it is a CP-IS plan."""
    resource = located.resource
    if not isinstance(resource, CarePlan | CareTeam):
        return None
    codes = (
        PLAN_TYPES.get(coding.code or "")
        for concept in resource.category or []
        for coding in concept.coding or []
        if coding.system in SNOMED_SYSTEMS
    )
    return next((found for found in codes if found is not None), None)


def flag_plans(located: Located, message: Message, ledger: Ledger) -> tuple[Plan, ...]:
    """The plans a CP-IS flag points at; an untyped plan when it points at none here."""
    flag = located.resource
    assert isinstance(flag, Flag)
    plans = [
        _plan(target, message, ledger)
        for extension in flag.extension or []
        if extension.url == FLAG_DETAIL_URL
        and (target := message.resolve(extension.valueReference, located)) is not None
        and plan_type(target) is not None
    ]
    return tuple(plans) or (Plan(),)


def read_plan(located: Located, message: Message, ledger: Ledger) -> ConcernFacts:
    """A CP-IS plan (CarePlan or CareTeam) as an item of safeguarding content."""
    resource = located.resource
    assert isinstance(resource, CarePlan | CareTeam)
    status = resource.status
    if status == "entered-in-error":
        ledger.invalid(f"{located.path}.status", "entered-in-error: a record made in error")
    elif status and status not in _PLAN_STATUSES:
        ledger.invalid(f"{located.path}.status", f"{status[:40]!r} is not a plan status")
    plan = _plan(located, message, ledger)
    person = message.person(resource.subject, located, "subject", ledger, lenient=True)
    if resource.subject is None:
        ledger.required(f"{located.path}.subject", "missing: whose plan is it?")
    category = next((concept_text(c) for c in resource.category or []), None)
    text = ", ".join(part for part in (category, plan.local_authority) if part)
    author = resource.author if isinstance(resource, CarePlan) else None
    return ConcernFacts(
        located=located,
        person=person,
        concerns=(Concern.CHILD_PROTECTION,),
        harm_flag=False,
        priority=None,
        time=instant(resource.period.start if resource.period else None, "period", ledger),
        texts=(text,) if text else (),
        author=author,
        plans=(plan,),
    )


def _plan(located: Located, message: Message, ledger: Ledger) -> Plan:
    resource = located.resource
    assert isinstance(resource, CarePlan | CareTeam)
    if isinstance(resource, CarePlan):
        teams = [(message.resolve(team, located), team) for team in resource.careTeam or []]
        names = [_team_name(target) or short(team.display) for target, team in teams]
    else:
        names = [_team_name(located)]
    period = resource.period
    where = f"{located.path}.period"
    return Plan(
        type=plan_type(located),
        local_authority=next((name for name in names if name), None),
        start=_date(instant(period.start if period else None, f"{where}.start", ledger)),
        end=_date(instant(period.end if period else None, f"{where}.end", ledger)),
    )


def _team_name(located: Located | None) -> str | None:
    team = located.resource if located is not None else None
    if not isinstance(team, CareTeam):
        return None
    managing = team.managingOrganization[0].display if team.managingOrganization else None
    return short(team.name) or short(managing)


def _date(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


# ---------------------------------------------------------------------------- access


@dataclass(frozen=True)
class _Setting:
    """Where a record was opened, and by whom (their role only)."""

    sender: Reference | None
    """The setting by its ODS code alone, as the message's sender."""
    name: str | None
    org_code: str | None
    role: str | None


def read_access(located: Located, message: Message, ledger: Ledger) -> ConcernFacts:
    """A CP-IS access notification (an AuditEvent) as an item of safeguarding content."""
    event = located.resource
    assert isinstance(event, AuditEvent)
    kind = event.type
    if kind is None or kind.system != AUDIT_LIFECYCLE_SYSTEM or kind.code not in _ACCESS_CODES:
        reason = (
            "an AuditEvent that is not an access (iso-21089-lifecycle#access) "
            "is not a safeguarding message"
        )
        ledger.not_supported(f"{located.path}.type", reason)
    if event.modifierExtension:
        reason = "a modifier extension the hub does not understand: it cannot be read safely"
        ledger.not_supported(f"{located.path}.modifierExtension", reason)
    time = instant(event.recorded, f"{located.path}.recorded", ledger)
    person = _accessed_person(located, message, ledger)
    setting = _setting(located, message)
    access = None
    if time is not None:
        try:
            access = UnscheduledCareAccess(
                accessed_at=time,
                setting=setting.name,
                setting_org_code=setting.org_code,
                accessed_by_role=setting.role,
            )
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                ledger.invalid(located.path, f"access notification: {err['msg']}")
    where = setting.name or "a setting it does not name"
    return ConcernFacts(
        located=located,
        person=person,
        concerns=(),
        harm_flag=False,
        priority=None,
        time=time,
        texts=(f"CP-IS: the child's record was opened in unscheduled care at {where}.",),
        author=setting.sender,
        access=access,
    )


def _accessed_person(located: Located, message: Message, ledger: Ledger) -> Person | None:
    """The child: the agent of type PAT (CP-IS API), else an entity that is the Patient."""
    event = located.resource
    assert isinstance(event, AuditEvent)
    for index, agent in enumerate(event.agent or []):
        if _is_patient(agent.type):
            return message.person(agent.who, located, f"agent[{index}].who", ledger, lenient=True)
    for index, entity in enumerate(event.entity or []):
        what = entity.what
        if what is None:
            continue
        numbered = what.identifier is not None and what.identifier.system == NHS_NUMBER_SYSTEM
        target = message.resolve(what, located)
        patient = (
            target.type == "Patient" if target else bool(_PATIENT.search(what.reference or ""))
        )
        if numbered or patient:
            where = f"entity[{index}].what"
            return message.person(what, located, where, ledger, lenient=True)
    reason = "must name the child: an agent of type PAT, or an entity that is the Patient"
    ledger.required(f"{located.path}.agent", reason)
    return None


def _is_patient(kind: CodeableConcept | None) -> bool:
    return kind is not None and any(c.code == PATIENT_AGENT_CODE for c in kind.coding or [])


def _setting(located: Located, message: Message) -> _Setting:
    """The organisation of the PractitionerRole (or the Organization) that opened the record."""
    event = located.resource
    assert isinstance(event, AuditEvent)
    agents = [a for a in event.agent or [] if a.requestor and not _is_patient(a.type)]
    observer = event.source.observer if event.source else None
    looker = next(
        (
            target
            for reference in [*(a.who for a in agents), observer]
            if (target := message.resolve(reference, located)) is not None
            and isinstance(target.resource, PractitionerRole | Organization)
        ),
        None,
    )
    role = None
    organisation: Reference | None = None
    body = looker.resource if looker is not None else None
    if isinstance(body, PractitionerRole):
        organisation, role = body.organization, _first_text(body.code or [])
        found = message.resolve(organisation, located) if organisation is not None else None
        body = found.resource if found is not None else None
    role = role or _first_text([r for a in agents for r in a.role or []])
    named = body.name if isinstance(body, Organization) else None
    name = short(named) or short(organisation.display if organisation else None)
    code = _ods(organisation, body) or _bracketed(name)
    # The sender is named by its ODS code only: where a child was seen travels sealed.
    sender = Reference(identifier=Identifier(system=ODS_SYSTEM, value=code)) if code else None
    return _Setting(sender, name, code, role)


def _first_text(concepts: list[CodeableConcept]) -> str | None:
    return next((short(text) for c in concepts if (text := concept_text(c))), None)


def _ods(organisation: Reference | None, body: object) -> str | None:
    identifiers = [organisation.identifier] if organisation and organisation.identifier else []
    if isinstance(body, Organization):
        identifiers += body.identifier or []
    return next(
        (short(i.value) for i in identifiers if i.system in ODS_SYSTEMS and short(i.value)), None
    )


def _bracketed(name: str | None) -> str | None:
    found = _BRACKETED_ODS.search(name or "")
    return found.group(1) if found else None
