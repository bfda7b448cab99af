"""The health side of a demo day: safeguarding concerns as FHIR message Bundles, as drafts.

GPs, health visitors and school nurses raise concerns as ServiceRequests, the
emergency department as Communications, and a child-protection alert arrives as an
active Flag (a flag of harm). The GP practice's system sends FHIR XML; the others JSON.
NHS England's national shapes arrive too (:mod:`hub.demo.nhs`): CP-IS flags with their
plans, CP-IS notifications that a child with a plan was seen in unscheduled care, and
NHS 111's BaRS referrals with a safeguarding flag.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hub.demo.day import HOSPITAL_HOURS, OFFICE_HOURS, Day, Draft
from hub.demo.fhir import ConcernSpec, ConsentSpec, Related, Sender, concern_bundle
from hub.demo.nhs import (
    PlanSpec,
    SafeguardingFlag,
    access_event,
    bars_referral,
    cpis_flag_bundle,
)
from hub.demo.notices import S47, below_harm
from hub.demo.people import Household, Person
from schemas.common import Partner

GP = Sender("H99001", "Example Road Surgery", "GP Partner 3", "ExampleGP")
HEALTH_VISITING = Sender(
    "RY9HV", "Example Community Health NHS Trust", "Health Visitor 0042", "ExampleEPR"
)
SCHOOL_NURSING = Sender(
    "RY9SN", "Example Community Health NHS Trust", "School Nurse 0107", "ExampleEPR"
)
HOSPITAL = Sender(
    "RX9ED", "Example Surrey Hospitals NHS Trust", "ED Safeguarding Nurse 12", "ExampleED"
)
MATERNITY = Sender("RX9MAT", "Example Surrey Hospitals NHS Trust", "Midwife 31", "ExampleMAT")
URGENT_CARE = Sender(
    "RY9UT", "Example Community Health NHS Trust - Urgent Treatment Centre", "UTC", "ExampleUTC"
)
NHS_111 = Sender("NX9111", "Example NHS 111", "NHS 111 call handler", "Example111")
LOCAL_AUTHORITIES = ("EXC1 - EXAMPLE COUNTY COUNCIL", "EXB2 - EXAMPLE BOROUGH COUNCIL")
"""Local authorities holding the demo's CP-IS plans (the county, and a neighbour)."""
ACCESS_ROLES = ("Registered nurse", "Accident and Emergency doctor", "Midwife", "Paramedic")
HEALTH_VISITING_AGE = 5
"""Health visitors see children under five; school nurses and GPs the older ones."""
XML_SENDERS = frozenset({GP.ods_code})
"""Senders whose systems post FHIR XML (the GP practice); the others post JSON."""

_CHILD_HEALTH = {
    "neglect": "Repeated missed health appointments and concerns about home conditions.",
    "emotional_abuse": "Child withdrawn; parent heard speaking to the child harshly.",
    "mental_health": "Parent's deteriorating mental health is affecting the care of the child.",
    "substance_misuse": "Parent smelled of alcohol at a clinic appointment with the child.",
}
_HOSPITAL = {
    "physical_abuse": "Injury to the child not consistent with the explanation given.",
    "self_harm": "Young person attended after self-harm; says it has happened before.",
    "substance_misuse": "Young person brought in intoxicated by friends late at night.",
    "child_sexual_exploitation": (
        "Young person brought in by an older adult who left at once; signs of exploitation."
    ),
}


@dataclass(frozen=True)
class _Message:
    """Who sends a concern about whom, what it says, and the consent position."""

    sender: Sender
    patient: Person
    concern: ConcernSpec
    sent: datetime
    parent: Person | None = None
    consent: ConsentSpec | None = None
    siblings: tuple[Person, ...] = ()


class HealthDesk:
    """Writes a day's health safeguarding concerns as FHIR message Bundles."""

    def __init__(self, day: Day) -> None:
        self.day = day

    def _draft(
        self, message: _Message, label: str, kind: str, expect: str, *, spare: bool = True
    ) -> Draft:
        day, sender, parent = self.day, message.sender, message.parent
        related = (Related(parent, "MTH" if parent.sex == "female" else "FTH"),) if parent else ()
        bundle = concern_bundle(
            reference=f"SGR-{day.day:%Y%m%d}-{day.reference(sender.ods_code):05d}",
            sent=message.sent,
            sender=sender,
            patient=message.patient,
            concern=message.concern,
            new_id=day.new_id,
            related=related,
            siblings=message.siblings,
            consent=message.consent,
        )
        return Draft(
            Partner.HEALTH,
            bundle,
            label,
            kind,
            message.sent,
            expect,
            xml=sender.ods_code in XML_SENDERS,
            spare=spare,
        )

    def _consent(self, sent: datetime, answer: str) -> ConsentSpec | None:
        at = self.day.earlier(sent, 5, 60)
        if answer == "none":
            return None
        if answer == "deny":
            return ConsentSpec("deny", at, "would_prejudice_protection", S47)
        return ConsentSpec(answer, at)

    def child_concern(
        self,
        *,
        household: Household | None = None,
        concern: str | None = None,
        sent_at: datetime | None = None,
    ) -> Draft:
        """A GP, health visitor or school nurse's concern: a ServiceRequest."""
        day = self.day
        home = household or day.people.household(day.rng.choice((1, 1, 2)), nhs_share=1.0)
        child = home.children[0]
        young = (child.age_on(day.day) or 0) < HEALTH_VISITING_AGE
        sender = HEALTH_VISITING if young else day.rng.choice((GP, SCHOOL_NURSING))
        sent = sent_at or day.at(OFFICE_HOURS)
        answer = day.pick({"permit": 0.55, "none": 0.25, "deny": 0.1, "draft": 0.1})
        priority = "asap" if answer == "deny" else day.pick({"routine": 0.7, "urgent": 0.3})
        concern = concern or day.rng.choice(list(_CHILD_HEALTH))
        text = _CHILD_HEALTH.get(concern, concern)
        spec = ConcernSpec(
            "ServiceRequest", (concern,), text, day.earlier(sent, 10, 6 * 60), priority
        )
        message = _Message(
            sender,
            child,
            spec,
            sent,
            parent=home.carer,
            consent=self._consent(sent, answer),
            siblings=home.children[1:2] if day.chance(0.3) else (),
        )
        return self._draft(
            message,
            f"health concern, {priority}, consent {answer}",
            "child-concern",
            below_harm(significant=priority == "asap", consent=answer == "permit"),
            spare=household is None,
        )

    def hospital(
        self,
        *,
        household: Household | None = None,
        concern: str | None = None,
        sent_at: datetime | None = None,
    ) -> Draft:
        """An emergency department's concern about a child: a Communication."""
        day = self.day
        home = household or day.people.household(1, youngest=0, eldest=17, nhs_share=1.0)
        concern = concern or day.pick(
            {"physical_abuse": 0.4, "self_harm": 0.3, "substance_misuse": 0.3}
        )
        sent = sent_at or day.at(HOSPITAL_HOURS)
        priority = "asap" if concern != "substance_misuse" else "urgent"
        answer = day.pick({"permit": 0.5, "none": 0.5})
        text = _HOSPITAL.get(concern, concern)
        spec = ConcernSpec("Communication", (concern,), text, day.earlier(sent, 10, 180), priority)
        message = _Message(
            HOSPITAL,
            home.children[0],
            spec,
            sent,
            parent=home.carer,
            consent=self._consent(sent, answer),
        )
        return self._draft(
            message,
            f"health ED concern, {concern}, {priority}",
            "ed-concern",
            below_harm(significant=priority == "asap", consent=answer == "permit"),
            spare=household is None,
        )

    def flag_of_harm(self) -> Draft:
        """A child-protection alert on a child's record: an active Flag, significant harm."""
        day = self.day
        child = day.people.household(1, nhs_share=1.0).children[0]
        sender = day.rng.choice((HOSPITAL, GP))
        sent = day.at(HOSPITAL_HOURS if sender is HOSPITAL else OFFICE_HOURS)
        text = "Child subject to a child protection plan attended unscheduled care."
        spec = ConcernSpec("Flag", ("child_protection",), text, day.earlier(sent, 5, 60))
        return self._draft(
            _Message(sender, child, spec, sent),
            "health flag of harm (child protection)",
            "flag-of-harm",
            "mash",
        )

    def adult(self) -> Draft:
        """A concern about an adult patient with no child: adult services."""
        day = self.day
        sent = day.at(HOSPITAL_HOURS)
        concern = day.rng.choice(("self_harm", "mental_health"))
        text = "Adult attended in crisis; lives alone, no dependants."
        spec = ConcernSpec("Communication", (concern,), text, day.earlier(sent, 10, 120), "urgent")
        message = _Message(HOSPITAL, day.people.adult(19, 90), spec, sent)
        return self._draft(
            message, f"health adult concern, {concern}", "adult-concern", "adult-services"
        )

    # ------------------------------------------------------------------ NHS England

    def cpis_flag(self) -> Draft:
        """A CP-IS flag with its plan: a child's protection or care plan, or an unborn child's."""
        day = self.day
        plan = day.pick(
            {"child_protection_plan": 0.6, "looked_after_child": 0.3,
             "unborn_child_protection_plan": 0.1}
        )  # fmt: skip
        if plan == "unborn_child_protection_plan":
            sender, person = MATERNITY, replace(day.people.adult(18, 40), sex="female")
        else:
            sender, person = HOSPITAL, day.people.household(1, nhs_share=1.0).children[0]
        sent = day.at(HOSPITAL_HOURS)
        spec = PlanSpec(
            plan,
            day.rng.choice(LOCAL_AUTHORITIES),
            day.day - timedelta(days=day.rng.randint(20, 400)),
            snomed_flag=day.chance(0.3),
        )
        bundle = cpis_flag_bundle(
            reference=f"CPIS-{sender.ods_code}-{day.day:%Y%m%d}-{day.reference('cpis'):05d}",
            sent=sent,
            sender=sender,
            patient=person,
            plan=spec,
            new_id=day.new_id,
        )
        label = f"health CP-IS flag, {plan.replace('_', ' ')}"
        return Draft(Partner.HEALTH, bundle, label, "cpis-flag", sent, "mash")

    def cpis_access(self) -> Draft:
        """CP-IS: a child with a plan was seen in unscheduled care, mostly at night."""
        day = self.day
        child = day.people.household(1, nhs_share=1.0).children[0]
        setting = day.rng.choice((HOSPITAL, URGENT_CARE))
        seen = day.at(HOSPITAL_HOURS)
        event = access_event(
            recorded=seen,
            child=child,
            setting=setting,
            role=day.rng.choice(ACCESS_ROLES),
            new_id=day.new_id,
        )
        sent = day.later(seen, 1, 5)
        return Draft(Partner.HEALTH, event, "health CP-IS access", "cpis-access", sent, "mash")

    def bars_referral(self) -> Draft:
        """NHS 111 refers by BaRS with a safeguarding flag: a child, or an adult alone."""
        day = self.day
        child = day.chance(0.7)
        if child:
            person = day.people.household(1, nhs_share=1.0).children[0]
            concern = SafeguardingFlag(
                "836881000000105",
                "Child is cause for safeguarding concern",
                "Caller described bruising the parent could not explain.",
            )
        else:
            person = day.people.adult(70, 95)
            concern = SafeguardingFlag(
                "766561000000109",
                "Adult safeguarding concern",
                "Lives alone; carer has not visited for several days.",
            )
        sent = day.at(HOSPITAL_HOURS)
        referral = bars_referral(
            reference=f"BARS-{NHS_111.ods_code}-{day.day:%Y%m%d}-{day.reference('bars'):05d}",
            sent=sent,
            sender=NHS_111,
            receiver=HOSPITAL,
            patient=person,
            concern=concern,
            new_id=day.new_id,
        )
        who = "child" if child else "adult"
        expect = "mash" if child else "adult-services"
        return Draft(Partner.HEALTH, referral, f"health BaRS referral, {who}", "bars", sent, expect)
