"""Record bytes to the scorecard's facts, through the real contracts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hub.audit import GENESIS, seal_record
from hub.errors import SignatureError
from hub.monitor.records import (
    UnreadableRecordError,
    read_dead_letter,
    read_decision,
    read_outcome,
    read_routed,
)
from hub.router.encompass import encompass_copies
from hub.router.handler import InRecord, dead_letter
from schemas.common import Area, ConsentStatus, LawfulBasis, Partner
from schemas.envelope import Quality, split_envelope
from schemas.history import HistorySummary
from schemas.outcome import Outcome, OutcomeRecorded
from schemas.routed import (
    DecisionSummary,
    EncompassDecision,
    MessageRouted,
)
from tests.factories import envelope, subject

NOW = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def routed(area: Area, destinations: tuple[Area, ...]) -> bytes:
    meta, content = split_envelope(envelope(quality=Quality(score=70)))
    summary = DecisionSummary(
        destinations=destinations,
        rules=("r2-domestic-abuse",),
        rationale=("A rationale.",),
        policy_version="a" * 64,
        shared_without_consent=False,
        decided_at=NOW,
        history=HistorySummary(),
    )
    return (
        MessageRouted(
            area=area,
            message_id=meta.message_id,
            metadata=meta,
            payload=content.model_dump_json(),
            decision=summary,
            due_by=NOW + timedelta(hours=24),
        )
        .model_dump_json()
        .encode()
    )


class TestRouted:
    def test_the_facts_of_a_routed_copy(self) -> None:
        """Area, times, partner and quality score come out; the payload is never read."""
        copy = read_routed(routed(Area.DA_TRIAGE, (Area.DA_TRIAGE, Area.ENCOMPASS)))
        assert copy.area is Area.DA_TRIAGE
        assert copy.partner is Partner.POLICE
        assert copy.routed_at == NOW
        assert copy.due_by == NOW + timedelta(hours=24)
        assert copy.quality_score == 70
        assert copy.counts_quality

    @pytest.mark.parametrize(
        ("area", "destinations", "counts"),
        [
            (Area.ENCOMPASS, (Area.ENCOMPASS, Area.DA_TRIAGE), False),
            (Area.MASH, (Area.DA_TRIAGE, Area.MASH), False),
            (Area.ENCOMPASS, (Area.ENCOMPASS,), True),
        ],
    )
    def test_one_copy_per_message_carries_the_quality(
        self, area: Area, destinations: tuple[Area, ...], counts: bool
    ) -> None:
        """The first destination that is not Encompass (notices repeat per child)."""
        assert read_routed(routed(area, destinations)).counts_quality is counts

    def test_an_encompass_copy_of_the_allow_list(self) -> None:
        """The router's Encompass copy (no quality, no destinations) is read, never scored."""
        env = envelope(subjects=[subject(school_urn="100001")], quality=Quality(score=70))
        meta, content = split_envelope(env)
        (built,) = encompass_copies(meta, content)
        copy = MessageRouted(
            area=Area.ENCOMPASS,
            message_id=meta.message_id,
            metadata=built.metadata,
            payload_type="encompass_notice",
            payload="{}",
            decision=EncompassDecision(
                rules=("r2-encompass",), rationale=("A.",), policy_version="a", decided_at=NOW
            ),
            due_by=NOW + timedelta(hours=18),
        )
        seen = read_routed(copy.model_dump_json().encode())
        assert (seen.area, seen.partner, seen.routed_at) == (Area.ENCOMPASS, Partner.POLICE, NOW)
        assert not seen.counts_quality


class TestDecisionAndOutcome:
    def test_decision(self) -> None:
        """Partner, received time, destinations and returned reasons."""
        _digest, value = seal_record(
            {
                "message_id": uuid.uuid4(),
                "partner": Partner.HOUSING,
                "source_reference": "H-1",
                "kind": "housing.duty_to_refer",
                "subject_key": "a" * 64,
                "received_at": NOW,
                "decided_at": NOW,
                "destinations": (Area.RETURNED,),
                "rules": ("r5-housing-duty-to-refer",),
                "rationale": ("r",),
                "returned_reasons": ("No consent.",),
                "policy_version": "b" * 64,
                "consent_status": ConsentStatus.REFUSED,
                "lawful_basis": next(iter(LawfulBasis)),
                "shared_without_consent": False,
                "history": HistorySummary(),
            },
            GENESIS,
        )
        facts = read_decision(value)
        assert facts.partner is Partner.HOUSING
        assert facts.destinations == (Area.RETURNED,)
        assert facts.returned_reasons == ("No consent.",)

    def test_outcome(self) -> None:
        """Message, area and the three times."""
        outcome = OutcomeRecorded(
            outcome_id=uuid.uuid4(),
            message_id=uuid.uuid4(),
            area=Area.MASH,
            subject_key="c" * 64,
            outcome=Outcome.S17_ASSESSMENT,
            rationale="Because.",
            decided_by="sw-1",
            decided_at=NOW,
            routed_at=NOW - timedelta(hours=2),
        )
        facts = read_outcome(outcome.model_dump_json().encode())
        assert (facts.message_id, facts.area) == (outcome.message_id, Area.MASH)
        assert facts.routed_at == NOW - timedelta(hours=2)
        assert facts.due_by is None

    @pytest.mark.parametrize("value", [None, b"", b"not json", b'{"area": "mash"}'])
    def test_unreadable_records_raise_one_error(self, value: bytes | None) -> None:
        """Anything that does not match its contract is one error type, never a crash."""
        for read in (read_routed, read_decision, read_outcome):
            with pytest.raises(UnreadableRecordError):
                read(value)


class TestDeadLetters:
    def test_the_routers_headers_name_the_error_class(self) -> None:
        """The class in hub.dlq.error.class, as the router writes it."""
        record = InRecord("partner.police.inbound", 0, 7, None, b"x", ())
        letter = dead_letter(record, SignatureError("bad signature"))
        assert read_dead_letter(letter.headers).error_class == "SignatureError"

    def test_no_header_is_unknown(self) -> None:
        """A dead letter from elsewhere still counts."""
        assert read_dead_letter([("other", b"x")]).error_class == "unknown"
