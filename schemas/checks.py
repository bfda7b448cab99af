"""Agency checks: the MASH asks partners what they know (DESIGN.md section 17).

Commands are what a caller sends (:class:`AskChecks` from a practitioner,
:class:`AnswerCheck` from a partner); events are what travels on Kafka
(:class:`CheckRequested` on ``hub.checks``, :class:`CheckAnswered` on
``hub.check-responses``). Each event carries routing facts in clear (who was asked,
the urgency, the deadline, when) and its content sealed: the question and the child's
and household's details for the asked partner only, the answer for the asking area
only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from schemas.common import Area, Contract, SubjectRole, text_given
from schemas.envelope import ShortText, SubjectDetails, SubjectKey
from schemas.wire import Sealed


class CheckPartner(StrEnum):
    """The partners a check can ask: those with connectors and those without a system."""

    POLICE = "police"
    HEALTH = "health"
    EDUCATION = "education"
    HOUSING = "housing"
    PROBATION = "probation"
    DOMESTIC_ABUSE = "domestic-abuse"


class Urgency(StrEnum):
    """How soon the answer is needed: red hours, amber a day, green days."""

    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class CheckResult(StrEnum):
    """What the partner found."""

    INFORMATION_FOUND = "information_found"
    NOTHING_KNOWN = "nothing_known"


class CheckStatus(StrEnum):
    """Where a check stands for the asking area."""

    OPEN = "open"
    ANSWERED = "answered"
    OVERDUE = "overdue"


OrgCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
Question = Annotated[str, Field(min_length=1, max_length=2000)]


class AskChecks(Contract):
    """A practitioner asks one or more partners about a message's child and household."""

    partners: tuple[CheckPartner, ...] = Field(
        min_length=1, max_length=len(CheckPartner), description="The partners to ask, each once."
    )
    urgency: Urgency = Field(description="red: 4 working hours; amber: 1 working day; green: 3.")
    question: Question = Field(description="What the partner is asked.")
    organisations: tuple[OrgCode, ...] = Field(
        default=(),
        max_length=50,
        description="The partner organisations asked (org codes); none: all of the partner's.",
    )

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        return text_given(value, "a question must not be blank")

    @field_validator("partners")
    @classmethod
    def _distinct(cls, value: tuple[CheckPartner, ...]) -> tuple[CheckPartner, ...]:
        if len(set(value)) != len(value):
            msg = "name each partner once"
            raise ValueError(msg)
        return value


class CheckPerson(Contract):
    """One person the partner is asked about."""

    role: SubjectRole = Field(description="The part the person plays in the message.")
    details: SubjectDetails = Field(description="Name, date of birth, NHS number, address.")


class CheckQuestion(Contract):
    """The sealed content of a request: readable by the asked partner only."""

    question: Question = Field(description="What the partner is asked.")
    child: CheckPerson | None = Field(None, description="The child the contact is about.")
    household: tuple[CheckPerson, ...] = Field(
        default=(), description="The other people of the message (household)."
    )


class CheckRequested(Contract):
    """The event on ``hub.checks``: one partner asked, with its deadline."""

    check_id: UUID = Field(description="Id of this check (one per partner asked).")
    message_id: UUID = Field(description="The contact (routed message) it is about.")
    area: Area = Field(description="The asking area; answers are sealed for it.")
    partner: CheckPartner = Field(description="The partner asked.")
    organisations: tuple[OrgCode, ...] = Field(
        default=(), description="Org codes asked; empty: every organisation of the partner."
    )
    subject_key: SubjectKey = Field(description="The subject (Kafka key).")
    urgency: Urgency = Field(description="red, amber or green.")
    asked_by: ShortText = Field(description="The practitioner who asked.")
    asked_at: AwareDatetime = Field(description="When they asked.")
    due_by: AwareDatetime = Field(description="The working-time deadline of the answer.")
    sealed: Sealed = Field(description="The CheckQuestion, sealed for the partner.")


class AnswerCheck(Contract):
    """A partner's answer to one check."""

    result: CheckResult = Field(description="information_found or nothing_known.")
    details: Annotated[str, Field(max_length=10_000)] = Field(
        "",
        validate_default=True,
        description="What the partner knows; required when information was found.",
    )
    answered_by: ShortText = Field(description="Who answered (name and role).")

    @field_validator("answered_by")
    @classmethod
    def _who(cls, value: str) -> str:
        return text_given(value, "answered_by must not be blank")

    @field_validator("details")
    @classmethod
    def _details_when_found(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("result") is CheckResult.INFORMATION_FOUND:
            return text_given(value, "details are required when information was found")
        return value


class CheckAnswered(Contract):
    """The event on ``hub.check-responses``: a partner's answer, sealed for the asking area."""

    check_id: UUID = Field(description="The check answered.")
    message_id: UUID = Field(description="The contact it is about.")
    area: Area = Field(description="The asking area.")
    partner: CheckPartner = Field(description="The partner that answered.")
    subject_key: SubjectKey = Field(description="The subject (Kafka key).")
    urgency: Urgency = Field(description="The check's urgency.")
    asked_at: AwareDatetime = Field(description="When the check was asked.")
    due_by: AwareDatetime = Field(description="The check's deadline.")
    answered_at: AwareDatetime = Field(description="When the partner answered.")
    sealed: Sealed = Field(description="The AnswerCheck, sealed for the asking area.")
