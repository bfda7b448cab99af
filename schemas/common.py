"""Vocabulary shared by every contract: partners, areas, roles, consent and risk terms."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticUndefined

SCHEMA_VERSION = "1.0"
"""Version of the envelope contract this code writes and reads."""


class FrozenModel(BaseModel):
    """Base of the models the hub builds from its own values: frozen, unknown fields refused.

    The ``--json`` outputs of commands use it as it is; a :class:`Contract`, which also
    reads what partners and practitioners send, strips the whitespace around text too.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


class Contract(FrozenModel):
    """Base of every contract model: frozen, and unknown fields are refused."""

    model_config = ConfigDict(
        str_strip_whitespace=True,
        use_enum_values=False,
        ser_json_timedelta="iso8601",
    )

    @classmethod
    def trusted(cls, fields: dict[str, Any]) -> Self:
        """An instance from values already validated, without validating them again.

        ``model_construct`` with less work: the hot path builds records from its own
        validated objects and only serialises them (the serialiser, hence the JSON, is
        the model's). Fields left out take their plain defaults.
        """
        defaults = _TRUSTED_DEFAULTS.get(cls)
        if defaults is None:
            defaults = _TRUSTED_DEFAULTS[cls] = {
                name: f.default
                for name, f in cls.model_fields.items()
                if f.default is not PydanticUndefined and f.default_factory is None
            }
        # In field order: the serialiser writes ``__dict__`` in its order.
        values = {
            name: fields[name] if name in fields else defaults[name] for name in cls.model_fields
        }
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", values)
        object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


_TRUSTED_DEFAULTS: dict[type[Contract], dict[str, Any]] = {}


def text_given(value: str, message: str) -> str:
    """``value``, unless it is blank: then ``message`` as the field's validation error.

    For a field validator of a free-text field that must say something (a question, a
    rationale): pydantic reports the ``ValueError`` against the field.
    """
    if not value.strip():
        raise ValueError(message)
    return value


class Partner(StrEnum):
    """The partner agencies that send information to the hub."""

    POLICE = "police"
    HEALTH = "health"
    HOUSING = "housing"
    DOMESTIC_ABUSE = "domestic-abuse"


class Area(StrEnum):
    """Service areas a message can be routed to (DESIGN.md section 7)."""

    MASH = "mash"
    EARLY_HELP = "early-help"
    DA_TRIAGE = "da-triage"
    MARAC = "marac"
    ENCOMPASS = "encompass"
    HOUSING = "housing"
    LADO = "lado"
    ADULT_SERVICES = "adult-services"
    ALLOCATED_TEAM = "allocated-team"
    RECORD_ONLY = "record-only"
    RETURNED = "returned"


class SubjectRole(StrEnum):
    """The part a person plays in a message."""

    CHILD = "child"
    UNBORN_CHILD = "unborn_child"
    VICTIM = "victim"
    PERSON_CAUSING_HARM = "person_causing_harm"
    PARENT_CARER = "parent_carer"
    HOUSEHOLD_MEMBER = "household_member"
    PROFESSIONAL_SUBJECT = "professional_subject"


class NhsNumberStatus(StrEnum):
    """Whether an NHS number passed the modulus-11 check at the door."""

    VALID = "valid"
    INVALID_CHECK_DIGIT = "invalid_check_digit"


class ConsentStatus(StrEnum):
    """Whether consent to share was given."""

    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT = "not_sought"
    NOT_REQUIRED = "not_required"
    WITHDRAWN = "withdrawn"
    IMPLIED_DIRECT_CARE = "implied_direct_care"
    """NHS implied consent for direct care (Consent policyRule IMPLIED, or category direct
    care): not consent to share with children's services, so shared without consent."""


class NoConsentReason(StrEnum):
    """Why information is shared without consent (Working Together 2023, ICO code)."""

    CANNOT_BE_GIVEN = "cannot_be_given"
    CANNOT_REASONABLY_BE_OBTAINED = "cannot_reasonably_be_obtained"
    WOULD_PREJUDICE_PROTECTION = "would_prejudice_protection"


class LawfulBasis(StrEnum):
    """Lawful basis for processing (UK GDPR Article 6, or DPA 2018 Part 3 for police)."""

    CONSENT = "UK GDPR 6(1)(a)"
    LEGAL_OBLIGATION = "UK GDPR 6(1)(c)"
    VITAL_INTERESTS = "UK GDPR 6(1)(d)"
    PUBLIC_TASK = "UK GDPR 6(1)(e)"
    LAW_ENFORCEMENT = "DPA 2018 s35"


class SpecialCategoryCondition(StrEnum):
    """Condition for processing special-category or sensitive data."""

    SAFEGUARDING = "DPA 2018 Sch 1 para 18"
    SAFEGUARDING_POLICE = "DPA 2018 Sch 8 para 4"
    EXPLICIT_CONSENT = "UK GDPR 9(2)(a)"
    HEALTH_OR_SOCIAL_CARE = "DPA 2018 Sch 1 para 2"


class StatutoryGateway(StrEnum):
    """The statute that permits or requires the sharing."""

    CA1989_S17 = "Children Act 1989 s17"
    CA1989_S27 = "Children Act 1989 s27"
    CA1989_S47 = "Children Act 1989 s47"
    CA2004_S10 = "Children Act 2004 s10"
    CA2004_S11 = "Children Act 2004 s11"
    CDA1998_S115 = "Crime and Disorder Act 1998 s115"
    DAA2021_S49A = "Domestic Abuse Act 2021 s49A"
    HA1996_S213B = "Housing Act 1996 s213B"
    CARE_ACT_S42 = "Care Act 2014 s42"


class RiskTool(StrEnum):
    """The risk assessment tool a partner used."""

    DASH = "DASH"
    DARA = "DARA"
    NONE = "none"


class RiskLevel(StrEnum):
    """The hub's canonical risk level."""

    STANDARD = "standard"
    MEDIUM = "medium"
    HIGH = "high"


class Rag(StrEnum):
    """Red/amber/green/blue rating, as police triage uses it."""

    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    BLUE = "blue"


class Concern(StrEnum):
    """Coded concern factors (after the children-in-need assessment factors).

    Each describes the child's situation (or, with no child, the adult's). The CIN
    census assessment-factor code is given where one exists; ``docs/routing.md``
    says which the default policy treats as significant harm.
    """

    DOMESTIC_ABUSE = "domestic_abuse"  # CIN 3A-3C
    PHYSICAL_ABUSE = "physical_abuse"  # CIN 18B, 18C
    SEXUAL_ABUSE = "sexual_abuse"  # CIN 19B, 19C
    EMOTIONAL_ABUSE = "emotional_abuse"  # CIN 17A
    NEGLECT = "neglect"  # CIN 16A
    CHILD_PROTECTION = "child_protection"
    CHILD_SEXUAL_EXPLOITATION = "child_sexual_exploitation"  # CIN 11A
    CHILD_CRIMINAL_EXPLOITATION = "child_criminal_exploitation"  # CIN 24A; county lines
    TRAFFICKING = "trafficking"  # CIN 12A
    MODERN_SLAVERY = "modern_slavery"  # Modern Slavery Act 2015; forced labour, servitude
    FEMALE_GENITAL_MUTILATION = "female_genital_mutilation"  # CIN 22A; done or at risk
    FORCED_MARRIAGE = "forced_marriage"  # Anti-social Behaviour, Crime and Policing Act 2014
    HONOUR_BASED_ABUSE = "honour_based_abuse"  # so-called honour-based abuse
    RADICALISATION = "radicalisation"  # at risk of being drawn into terrorism (Prevent)
    MISSING = "missing"  # CIN 10A
    SELF_HARM = "self_harm"  # CIN 15A
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    ALLEGATION_AGAINST_PROFESSIONAL = "allegation_against_professional"
    PERSON_POSING_RISK = "person_posing_risk"
    HOMELESSNESS = "homelessness"
    PREGNANCY = "pregnancy"
    HARM_FLAG = "harm_flag"
    ADULT_AT_RISK = "adult_at_risk"
    OTHER = "other"


class PlanType(StrEnum):
    """The plan a child is subject to, as CP-IS records it (England-ChildProtectionPlan)."""

    CHILD_PROTECTION_PLAN = "child_protection_plan"
    LOOKED_AFTER_CHILD = "looked_after_child"
    UNBORN_CHILD_PROTECTION_PLAN = "unborn_child_protection_plan"


KINDS: frozenset[str] = frozenset(
    {
        "police.notification.domestic_abuse",
        "police.notification.child_concern",
        "police.notification.adult_at_risk",
        "police.notification.missing_person",
        "police.notification.person_posing_risk",
        "police.notification.other",
        "health.safeguarding_concern",
        "health.cpis_access",
        "housing.duty_to_refer",
        "domestic_abuse.dash_assessment",
    }
)
"""Every message kind the hub has a contract for; others are dead-lettered."""

KIND_PARTNER: dict[str, Partner] = {
    "police": Partner.POLICE,
    "health": Partner.HEALTH,
    "housing": Partner.HOUSING,
    "domestic_abuse": Partner.DOMESTIC_ABUSE,
}
"""The partner that may send each kind, by the kind's first segment."""

CHILD_AGE_LIMIT = 18
"""A person under this age is a child (Children Act 1989 s105)."""

SCHOOL_AGE = range(4, 18)
"""Ages of a child of compulsory school age or in education to 17 (Operation Encompass)."""


def nhs_check_digit(nine: str) -> int:
    """The NHS modulus-11 check digit of nine digits (10 means no valid number exists)."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    return (11 - total % 11) % 11


def nhs_number_is_valid(number: str) -> bool:
    """Return whether a number is ten digits whose last is the modulus-11 check digit."""
    if len(number) != 10 or not number.isascii() or not number.isdigit():  # noqa: PLR2004
        return False
    check = nhs_check_digit(number[:9])
    return check != 10 and check == int(number[9])  # noqa: PLR2004
