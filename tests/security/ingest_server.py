"""``python -m tests.security.ingest_server STATE PORT``: the ingest app served on its own.

The real app and serving configuration with real sealing and MACs (the keyring in
``STATE/keys``, the credentials in ``STATE/credentials.json``); Kafka is replaced by
the in-memory ports, so a test can load the app without the broker, from another
process (its clients then take none of the server's CPU or GIL).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from connectors.registry import all_connectors
from hub.ingest.app import IngestDeps, create_app
from hub.ingest.credentials import CredentialStore
from hub.ingest.testing import MemoryLedger, MemoryPublisher
from hub.ingest.worker import BatchTools, BatchWorkers
from hub.security.envelope import InboundRecord, Sealer
from hub.security.keys import KeyIds, Keyring, inbound_kek, inbound_mac
from hub.security.mac import CurrentId, Link, RecordMac
from hub.settings import HttpSettings
from hub.web import http_config
from schemas.common import Partner

SUBJECT_KEY_SECRET = b"security-test-secret"


class DiscardingPublisher(MemoryPublisher):
    """Acknowledges every write and keeps nothing (a batch of 60,000 would fill memory)."""

    async def publish(self, records: Sequence[InboundRecord]) -> None:
        """Drop ``records``."""
        del records


def sealers(keys_dir: Path) -> dict[Partner, Sealer]:
    """Each partner's real sealer and MAC from the keyring (6 inbound partitions)."""
    keys = Keyring(keys_dir)
    found = {}
    for partner in Partner:
        name = inbound_mac(partner)
        mac = RecordMac(Link.INBOUND, KeyIds(keys, name), CurrentId(keys, name))
        found[partner] = Sealer(keys.secret(inbound_kek(partner)), mac, 6)
    return found


def batch_tools(keys_dir: Path) -> BatchTools:
    """A batch worker's tools: the registry's connectors, the real sealers."""
    return BatchTools(
        connectors={c.partner: c for c in all_connectors()},
        sealers=sealers(keys_dir),
        subject_key_secret=SUBJECT_KEY_SECRET,
    )


def main() -> None:
    """Serve until SIGTERM."""
    state, port = Path(sys.argv[1]), int(sys.argv[2])
    deps = IngestDeps(
        credentials=CredentialStore(state / "credentials.json"),
        ledger=MemoryLedger(),
        publishers={p: DiscardingPublisher() for p in Partner},
        sealers=sealers(state / "keys"),
        subject_key_secret=SUBJECT_KEY_SECRET,
        clock=lambda: datetime.now(UTC),
        batch_workers=BatchWorkers(functools.partial(batch_tools, state / "keys")),
    )
    uvicorn.Server(http_config(create_app(deps), "127.0.0.1", port, HttpSettings())).run()


if __name__ == "__main__":
    main()
