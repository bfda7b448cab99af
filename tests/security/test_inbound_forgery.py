"""Inbound records: only the partner's own ingest can make one the router routes (item 10).

Each attack is what someone with write access to an inbound topic (or a stolen copy of
a record) could do; each must end in exactly one dead letter with the signature-failure
class, and nothing routed.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from hub.bootstrap import Hub
from hub.bootstrap.ingest import sealer_for
from hub.errors import SIGNATURE_FAILURES
from hub.router.handler import InRecord
from hub.security.keys import rotate
from hub.security.mac import MAC_HEADER
from schemas.common import Partner, RiskLevel
from schemas.envelope import Envelope, split_envelope
from schemas.wire import MessageReceived
from tests.factories import envelope, risk
from tests.records import inbound_record
from tests.security.kit import Router, dead_letter_class, hub_with_keys


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return hub_with_keys(tmp_path / "keys")


def mash_message() -> Envelope:
    return envelope(risk=risk(RiskLevel.HIGH))


class TestInboundForgery:
    def test_a_record_without_a_mac_is_dead_lettered(self, hub: Hub) -> None:
        """Anything that can write partner.police.inbound, but holds no key, is refused."""
        env = mash_message()
        meta, content = split_envelope(env)
        value = MessageReceived(metadata=meta, content=content).model_dump_json().encode()
        rec = inbound_record(hub, env)
        forged = dataclasses.replace(rec, value=value, headers=())
        assert dead_letter_class(Router.for_envelope(hub, env).route(forged)) == "SignatureError"

    def test_a_tampered_record_is_dead_lettered(self, hub: Hub) -> None:
        """One changed byte of a genuine record breaks its MAC."""
        env = mash_message()
        rec = inbound_record(hub, env)
        assert rec.value is not None
        tampered = dataclasses.replace(rec, value=rec.value.replace(b'"high"', b'"standard"', 1))
        assert tampered.value != rec.value
        assert dead_letter_class(Router.for_envelope(hub, env).route(tampered)) == "SignatureError"

    def test_another_partners_record_on_this_topic_is_dead_lettered(self, hub: Hub) -> None:
        """A health record MACed by the health ingest, re-written to the police topic."""
        env = envelope("health.safeguarding_concern")
        rec = inbound_record(hub, env)
        moved = dataclasses.replace(rec, topic="partner.police.inbound")
        assert dead_letter_class(Router.for_envelope(hub, env).route(moved)) == "SignatureError"

    def test_a_police_key_cannot_speak_for_health(self, hub: Hub) -> None:
        """The police ingest's key MACs a record for the health topic: not health's key."""
        env = envelope("health.safeguarding_concern")
        police = sealer_for(hub, Partner.POLICE)
        rec = inbound_record(hub, env)
        assert rec.value is not None
        assert police.mac is not None
        headers = police.mac.headers(rec.topic, rec.partition, rec.key, rec.value)
        forged = dataclasses.replace(rec, headers=headers)
        assert dead_letter_class(Router.for_envelope(hub, env).route(forged)) == "SignatureError"

    def test_a_truncated_mac_is_dead_lettered(self, hub: Hub) -> None:
        """A MAC cut short (a guessing attack) does not verify."""
        env = mash_message()
        rec = inbound_record(hub, env)
        short = tuple((k, v[:8] if k == MAC_HEADER else v) for k, v in rec.headers)
        forged = dataclasses.replace(rec, headers=short)
        assert dead_letter_class(Router.for_envelope(hub, env).route(forged)) == "SignatureError"

    def test_a_key_holder_cannot_key_a_record_to_another_subject(self, hub: Hub) -> None:
        """Even with a valid MAC, a Kafka key other than the subject key is refused."""
        env = mash_message()
        sealer = sealer_for(hub, Partner.POLICE)
        rec = inbound_record(hub, env)
        assert rec.value is not None
        assert sealer.mac is not None
        other = b"f" * 64
        headers = sealer.mac.headers(rec.topic, rec.partition, other, rec.value)
        forged = InRecord(rec.topic, rec.partition, 0, other, rec.value, headers)
        out = Router.for_envelope(hub, env).route(forged)
        assert dead_letter_class(out) == "RecordKeyError"
        assert "RecordKeyError" in SIGNATURE_FAILURES

    def test_rotation_keeps_old_records_verifiable(self, hub: Hub) -> None:
        """A running router learns a rotated-in key; records MACed before still route."""
        old_env, new_env = mash_message(), mash_message()
        router = Router.for_partition(hub, 0)
        old = inbound_record(hub, old_env)
        rotate(hub.settings.crypto.keys_dir, "inbound-mac-police")
        time.sleep(1.1)  # the router re-reads the keyring at most once a second
        new = inbound_record(hub, new_env)
        assert dict(new.headers)["hub-key-id"] == b"k2"
        for rec in (new, old):
            assert "route.mash" in [o.topic for o in router.route(rec)]
