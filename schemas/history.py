"""The per-subject history summary the router decides with, recorded on every decision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field

from schemas.common import Area, Contract, Partner

Count = Annotated[int, Field(ge=0)]


class HistorySummary(Contract):
    """What the hub knew about the subject when it decided (DESIGN.md sections 8, 9)."""

    contacts_12m: Count = Field(0, description="Messages about the subject in 12 months.")
    contacts_by_partner_12m: dict[Partner, Count] = Field(
        default_factory=dict, description="Those messages by partner."
    )
    contacts_by_kind_12m: dict[str, Count] = Field(
        default_factory=dict, description="Those messages by kind."
    )
    da_incidents_12m: Count = Field(
        0, description="Domestic-abuse incidents in 12 months, including this one."
    )
    low_level_3m: Count = Field(
        0, description="Low-level (standard risk) notifications in 3 months, including this one."
    )
    last_marac_referral_at: AwareDatetime | None = Field(
        None, description="When the subject was last routed to MARAC."
    )
    open_case: bool = Field(default=False, description="A team recorded an open case.")
    open_case_area: Area | None = Field(None, description="The area holding the open case.")
    last_destinations: tuple[Area, ...] = Field(
        default=(), description="Destinations of the previous message."
    )
    last_contact_at: AwareDatetime | None = Field(
        None, description="When the previous message about the subject occurred."
    )
    linked_message_id: UUID | None = Field(
        None, description="An earlier message from another partner about the same incident."
    )

    def since(self, when: datetime | None) -> float | None:
        """Days from ``when`` to the last contact, or None."""
        if when is None or self.last_contact_at is None:
            return None
        return (self.last_contact_at - when).total_seconds() / 86_400
