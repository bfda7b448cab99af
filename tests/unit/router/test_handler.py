"""The router's handler without Kafka: outputs per message, dead letters, outcomes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hub.audit import GENESIS, hash_of, verify_chain
from hub.bootstrap import Hub
from hub.router.handler import InRecord, TaskState, route_record
from hub.router.history import HistoryStore
from hub.security import sealing
from hub.security.keys import KeyIds, Keyring, init_keyring, outcome_mac
from hub.security.mac import CurrentId, Link, RecordMac
from schemas.common import Area, RiskLevel, SubjectRole
from schemas.decision import DecisionRecorded
from schemas.envelope import split_envelope
from schemas.outcome import Outcome, OutcomeRecorded
from schemas.routed import EncompassNotice, MessageRouted
from schemas.wire import MessageReceived
from tests.factories import NOW, envelope, outcome_recorded, risk, subject
from tests.records import inbound_record


def record_for(hub: Hub, env: object, offset: int = 0) -> InRecord:
    return inbound_record(hub, env, offset)  # type: ignore[arg-type]


def outcome_record(hub: Hub, outcome: OutcomeRecorded, partition: int) -> InRecord:
    """An outcome as the area's team writes it: keyed, on ``partition``, with its MAC."""
    keys = Keyring(hub.settings.crypto.keys_dir)
    name = outcome_mac(outcome.area)
    mac = RecordMac(Link.OUTCOME, KeyIds(keys, name), CurrentId(keys, name))
    key, value = outcome.subject_key.encode(), outcome.model_dump_json().encode()
    headers = mac.headers("team.outcomes", partition, key, value)
    return InRecord("team.outcomes", partition, 0, key, value, headers)


class TestRouteRecord:
    def test_one_decision_and_one_copy_per_area(self, hub: Hub) -> None:
        """A DA message with a school-age child: DA triage, an Encompass notice, one decision."""
        env = envelope(
            "police.notification.domestic_abuse",
            [
                subject(SubjectRole.VICTIM, "v"),
                subject(label="c1", present=True, school_urn="100001"),
                subject(label="c2", age_years=12, present=True, school_urn="100002"),
            ],
        )
        task = TaskState(0, HistoryStore())
        out = route_record(record_for(hub, env), hub.router_context(lambda: NOW), task)
        topics = sorted(o.topic for o in out)
        assert topics == [
            "hub.decisions",
            "hub.household-history",
            "hub.routed-ids",
            "hub.subject-history",
            "route.da-triage",
            "route.encompass",
            "route.encompass",
        ]
        # The household view is a global table written by key; the rest is co-partitioned.
        assert {o.partition for o in out if o.topic != "hub.household-history"} == {0}
        decision = DecisionRecorded.model_validate_json(
            next(o.value for o in out if o.topic == "hub.decisions")
        )
        assert set(decision.destinations) == {Area.DA_TRIAGE, Area.ENCOMPASS}
        copies = [
            MessageRouted.model_validate_json(o.value) for o in out if o.topic.startswith("route.")
        ]
        assert {c.area for c in copies} == {Area.DA_TRIAGE, Area.ENCOMPASS}
        for copy in copies:
            assert copy.message_id == env.message_id
            # Operation Encompass is told only its own rule's reason (minimum necessary).
            mine = ("r2-encompass",) if copy.area is Area.ENCOMPASS else decision.rules
            assert copy.decision.rules == mine
            assert copy.due_by is not None
            assert copy.metadata.kind == env.kind
        assert decision.prev_hash == "0" * 64
        assert task.chain.head == decision.hash

    def test_encompass_payload_is_minimal(self, hub: Hub) -> None:
        """The school gets the child, school, reference, time and presence only."""
        env = envelope(
            "police.notification.domestic_abuse",
            [
                subject(SubjectRole.VICTIM, "v"),
                subject(label="c1", present=True, school_urn="100001"),
            ],
            narrative="Synthetic details the school must not see",
        )
        hub_ctx = hub.router_context(lambda: NOW)
        out = route_record(record_for(hub, env), hub_ctx, TaskState(0, HistoryStore()))
        copy = MessageRouted.model_validate_json(
            next(o.value for o in out if o.topic == "route.encompass")
        )
        assert copy.payload_type == "encompass_notice"
        keys = Keyring(hub.settings.crypto.keys_dir)
        assert copy.sealed is not None
        plain = sealing.decrypt_for(
            copy.sealed, copy.message_id, "area:encompass", keys.secrets("area-encompass")
        )
        notice = EncompassNotice.model_validate_json(plain)
        assert notice.school_urn == "100001"
        assert notice.police_reference == env.source.partner_reference
        assert b"must not see" not in plain

    def test_unknown_kind_is_dead_lettered(self, hub: Hub) -> None:
        """A kind without a contract goes to the DLQ, naming it."""
        env = envelope()
        meta, content = split_envelope(env)
        odd = MessageReceived(
            metadata=meta.model_copy(update={"kind": "police.notification.alien"}), content=content
        )
        rec = InRecord(
            "partner.police.inbound", 0, 7, env.subject_key.encode(), odd.model_dump_json().encode()
        )
        ctx = hub.router_context(lambda: NOW)
        out = route_record(rec, dataclasses.replace(ctx, macs=None), TaskState(0, HistoryStore()))
        assert [o.topic for o in out] == ["hub.dlq"]
        headers = dict(out[0].headers)
        assert headers["hub.dlq.error.class"] == b"UnknownKindError"
        assert headers["hub.dlq.offset"] == b"7"
        assert out[0].key == rec.key, "kept, so that `hub dlq replay` writes it back as it was"

    def test_tampered_value_is_dead_lettered(self, hub: Hub) -> None:
        """A changed byte breaks the MAC."""
        rec = record_for(hub, envelope())
        assert rec.value is not None
        tampered = dataclasses.replace(rec, value=rec.value.replace(b'"47"', b'"48"'))
        out = route_record(tampered, hub.router_context(lambda: NOW), TaskState(0, HistoryStore()))
        assert dict(out[0].headers)["hub.dlq.error.class"] == b"SignatureError"

    def test_open_case_outcome_redirects_the_next_message(self, hub: Hub) -> None:
        """After a team opens a case, the child's next concern goes to the allocated team."""
        ctx = hub.router_context(lambda: NOW)
        first = envelope(risk=risk(RiskLevel.HIGH))
        rec = record_for(hub, first)
        task = TaskState(rec.partition, HistoryStore())
        route_record(rec, ctx, task)
        outcome = outcome_recorded(
            first.message_id,
            first.subject_key,
            Outcome.OPEN_CASE,
            "Section 17 assessment opened.",
        )
        changed = route_record(outcome_record(hub, outcome, task.partition), ctx, task)
        assert sorted(o.topic for o in changed) == [
            "hub.household-history",
            "hub.routed-ids",
            "hub.subject-history",
        ]
        second = envelope(risk=risk(RiskLevel.HIGH))
        out = route_record(record_for(hub, second, 1), ctx, task)
        assert "route.allocated-team" in [o.topic for o in out]
        assert "route.mash" not in [o.topic for o in out]


def test_keys_dir_is_created_once(tmp_path: Path) -> None:
    """Initialising a keyring twice creates nothing the second time."""
    assert init_keyring(tmp_path)
    assert init_keyring(tmp_path) == []


class TestAuditChainBytes:
    def test_records_validate_and_chain(self, hub: Hub) -> None:
        """Decision records are valid contracts, hash their own bytes and chain in order."""
        task = TaskState(0, HistoryStore())
        ctx = hub.router_context(lambda: NOW)
        values = []
        for i in range(3):
            out = route_record(record_for(hub, envelope(), i), ctx, task)
            values.append(next(o.value for o in out if o.topic == "hub.decisions"))
        records = [DecisionRecorded.model_validate_json(v) for v in values]
        assert records[0].prev_hash == GENESIS
        assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
        assert all(hash_of(v) == r.hash for v, r in zip(values, records, strict=True))
        assert verify_chain(0, enumerate(values)) == (3, None)
        assert verify_chain(0, enumerate(values[::-1]))[1] is not None
