"""Team outcomes: what a practitioner decided about a routed message, and why."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, field_validator, model_validator

from schemas.common import Area, Contract, text_given
from schemas.envelope import ShortText, SubjectKey


class Outcome(StrEnum):
    """What the team decided."""

    NO_FURTHER_ACTION = "no_further_action"
    INFORMATION_RECORDED = "information_recorded"
    EARLY_HELP = "early_help"
    S17_ASSESSMENT = "s17_assessment"
    STRATEGY_DISCUSSION = "strategy_discussion"
    OPEN_CASE = "open_case"
    CASE_CLOSED = "case_closed"
    REFERRED_ON = "referred_on"
    MARAC_LISTED = "marac_listed"
    HOUSING_ASSESSMENT = "housing_assessment"


THRESHOLD_OUTCOMES = frozenset(
    {
        Outcome.STRATEGY_DISCUSSION,
        Outcome.S17_ASSESSMENT,
        Outcome.NO_FURTHER_ACTION,
        Outcome.EARLY_HELP,
    }
)
"""The MASH's threshold decisions, which a manager must authorise (DESIGN.md section 16)."""


def needs_authorisation(area: Area, outcome: Outcome) -> bool:
    """Whether a decision of ``area`` waits for a manager's authorisation."""
    return area is Area.MASH and outcome in THRESHOLD_OUTCOMES


Rationale = Annotated[str, Field(min_length=1, max_length=5000)]


class RecordOutcome(Contract):
    """A practitioner's command to record a decision (web form or API)."""

    message_id: UUID = Field(description="The routed message decided on.")
    outcome: Outcome = Field(description="What was decided.")
    rationale: Rationale = Field(description="Why; required and non-empty.")

    @field_validator("rationale")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return text_given(value, "a rationale is required: say why this outcome was chosen")


class AuthoriseDecision(Contract):
    """A manager's command to authorise a decision, or send it back (web form or API)."""

    decision: Literal["authorise", "return"] = Field(
        description="authorise: the decision stands; return: the practitioner decides again."
    )
    rationale: Rationale = Field(description="Why; required and non-empty.")

    @field_validator("rationale")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return text_given(
            value, "a rationale is required: say why you authorise or return this decision"
        )


class OutcomeRecorded(Contract):
    """The event on ``team.outcomes``."""

    outcome_id: UUID = Field(description="Id of this outcome record.")
    message_id: UUID = Field(description="The routed message decided on.")
    area: Area = Field(description="The area that decided.")
    subject_key: SubjectKey = Field(description="The subject (history key).")
    outcome: Outcome = Field(description="What was decided.")
    rationale: Rationale = Field(description="Why; never empty.")
    decided_by: ShortText = Field(description="The practitioner who decided.")
    decided_at: AwareDatetime = Field(description="When they decided.")
    routed_at: AwareDatetime | None = Field(None, description="When it was routed to the area.")
    due_by: AwareDatetime | None = Field(None, description="The SLA deadline it had.")
    authorises: UUID | None = Field(
        None,
        description=(
            "Set on a manager's authorisation: the outcome id of the decision it "
            "authorises or returns (outcome is then that decision's outcome)."
        ),
    )
    authorisation: Literal["authorise", "return"] | None = Field(
        None, description="On a manager's authorisation: authorised, or sent back."
    )

    @model_validator(mode="after")
    def _authorisation_complete(self) -> OutcomeRecorded:
        if (self.authorises is None) != (self.authorisation is None):
            msg = "authorises and authorisation are set together, or neither"
            raise ValueError(msg)
        return self
