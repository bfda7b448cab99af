"""The envelope of one native message, from what every partner format says alike.

Every format names its sender (organisation code, reference, system, who submitted
it) and its times; the message id, the source, the times in UTC, the message key and
the quality report follow from those the same way for every partner. A parser works
out the rest (subjects, risk, consent, concerns, narrative) in its own terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.identity import message_id_for, primary_subject_key
from connectors.protocol import ParseContext
from schemas.common import Concern, Partner
from schemas.envelope import Consent, Envelope, Quality, QualityFinding, Risk, Source, Subject


@dataclass(frozen=True)
class Sender:
    """A partner organisation and its reference for a message, which make its id."""

    partner: Partner
    org_code: str
    reference: str

    def envelope(
        self,
        context: ParseContext,
        *,
        system: str,
        submitted_by: str,
        kind: str,
        occurred_at: datetime,
        reported_at: datetime,
        subjects: list[Subject],
        findings: list[QualityFinding],
        risk: Risk,
        consent: Consent,
        concerns: tuple[Concern, ...],
        narrative: str,
    ) -> Envelope:
        """The envelope of the message; the key is the primary subject's.

        Raises pydantic's ``ValidationError`` like the envelope itself: the parser maps
        it to field errors (``contract_errors``).
        """
        return Envelope(
            message_id=message_id_for(self.partner, self.org_code, self.reference),
            partner=self.partner,
            source=Source(
                org_code=self.org_code,
                system=system,
                partner_reference=self.reference,
                submitted_by=submitted_by,
            ),
            kind=kind,
            occurred_at=occurred_at.astimezone(UTC),
            reported_at=reported_at.astimezone(UTC),
            received_at=context.received_at,
            subject_key=primary_subject_key(subjects),
            subjects=tuple(subjects),
            risk=risk,
            consent=consent,
            concerns=concerns,
            narrative=narrative,
            quality=Quality.from_findings(findings),
        )
