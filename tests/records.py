"""Records as the hub's components write them, for tests that run handlers without Kafka."""

from __future__ import annotations

from hub.bootstrap import Hub
from hub.bootstrap.ingest import sealer_for
from hub.router.handler import InRecord, OutRecord
from schemas.envelope import Envelope


def inbound_record(hub: Hub, env: Envelope, offset: int = 0) -> InRecord:
    """The inbound record the ingest writes for ``env`` (sealed, with its MAC), as consumed."""
    rec = sealer_for(hub, env.partner).encode(env)
    return InRecord(rec.topic, rec.partition, offset, rec.key, rec.value, rec.headers)


def consumed(out: OutRecord, offset: int = 0) -> InRecord:
    """A record the router wrote, as a consumer of its topic reads it."""
    assert out.partition is not None, "the router names the partition of every record"
    return InRecord(out.topic, out.partition, offset, out.key, out.value, out.headers)
