"""The models the ``hub`` commands print with ``--json`` (other than ``status``'s snapshot).

Each is built by its command from the store or report it reads, printed with
``model_dump_json`` and published as a JSON Schema in ``docs/cli/`` (see
:mod:`hub.contracts.cli`). Fields are only ever added, so scripts keep working.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from schemas.common import Area, FrozenModel, Partner

__all__ = [
    "AuditFinding",
    "AuditVerification",
    "PartnerCredentialRow",
    "PartnersListing",
    "PolicySimulation",
    "SimulatedChange",
    "SimulatedVolume",
    "TeamUserRow",
    "TeamUsersListing",
]


class PartnerCredentialRow(FrozenModel):
    """One partner credential (never its secret or digest)."""

    credential_id: str = Field(description="The id part of the credential (hubp_<id>.<secret>).")
    partner: Partner = Field(description="The partner whose connector it authenticates.")
    orgs: list[str] | None = Field(
        description=(
            "The organisation codes it may send as; null: issued before credentials were "
            "bound to organisations, refused until reissued with --org."
        )
    )
    created_at: AwareDatetime = Field(description="When it was issued.")
    revoked: bool = Field(description="Revoked: it authenticates nothing any more.")


class PartnersListing(FrozenModel):
    """``hub partners list --json``: every credential of the ingest, oldest first."""

    credentials: list[PartnerCredentialRow] = Field(description="Every credential issued.")


class TeamUserRow(FrozenModel):
    """One practitioner account (never its password hash)."""

    username: str = Field(description="Sign-in name (lower case).")
    area: Area = Field(description="The area whose queue they work.")
    role: Literal["practitioner", "manager"] = Field(
        description="practitioner, or manager (oversight, assignment, authorisation)."
    )
    created_at: AwareDatetime = Field(description="When the account was created.")
    disabled: bool = Field(description="Disabled: they can no longer sign in.")


class TeamUsersListing(FrozenModel):
    """``hub teams list-users --json``: every practitioner, by name."""

    users: list[TeamUserRow] = Field(description="Every practitioner account.")


class SimulatedVolume(FrozenModel):
    """How many messages one area would receive under each policy."""

    area: Area = Field(description="The service area.")
    current: int = Field(description="Messages routed there by the policy in force.")
    candidate: int = Field(description="Messages the candidate policy would route there.")


class SimulatedChange(FrozenModel):
    """One message the candidate policy would route differently (metadata only)."""

    message_id: UUID = Field(description="The message's id.")
    partner: str = Field(description="The partner that sent it.")
    kind: str = Field(description="The message kind.")
    current: list[Area] = Field(description="Where the policy in force routed it.")
    candidate: list[Area] = Field(description="Where the candidate would route it.")
    current_rules: list[str] = Field(description="Rules that matched under the policy in force.")
    candidate_rules: list[str] = Field(description="Rules that would match under the candidate.")


class PolicySimulation(FrozenModel):
    """``hub policy simulate --json``: a candidate policy replayed over real traffic."""

    start: AwareDatetime = Field(description="Window start (inclusive).")
    end: AwareDatetime = Field(description="Window end (exclusive).")
    current_version: str = Field(description="Version (hash) of the policy in force.")
    candidate_version: str = Field(description="Version (hash) of the candidate policy.")
    safe: bool = Field(description="The candidate passed every safety property.")
    counterexamples: list[str] = Field(
        description="Each counterexample: property id, its title, and what broke."
    )
    messages: int = Field(description="Messages received in the window.")
    volumes: list[SimulatedVolume] = Field(description="Per area with traffic under either.")
    changes: list[SimulatedChange] = Field(description="Messages that would change, all of them.")


class AuditFinding(FrozenModel):
    """Something ``hub audit verify`` found at a record of a topic."""

    topic: str = Field(description="Logical topic name.")
    partition: int = Field(description="Partition number.")
    offset: int = Field(description="Offset of the record.")
    kind: str = Field(
        description="edited, removed, reordered, inserted, unreadable, truncated, rebuilt, "
        "rewritten, unanchored or checkpoint."
    )
    text: str = Field(description="What is wrong there.")


class AuditVerification(FrozenModel):
    """``hub audit verify --json``: the decision log checked against its checkpoints."""

    intact: bool = Field(description="No finding: every record is anchored and unchanged.")
    records: int = Field(description="Decision records read.")
    partitions: int = Field(description="Partitions of hub.decisions.")
    checkpoints: int = Field(description="Valid signed checkpoints.")
    findings: list[AuditFinding] = Field(description="Every finding, by partition and offset.")
    checked_at: datetime = Field(description="When the check ran (UTC).")
