"""Building the ingest app's parts from settings (called by the composition root)."""

from __future__ import annotations

import functools

from connectors.registry import all_connectors
from hub.bootstrap import Hub, subject_key_secret, utc_now
from hub.bootstrap.checks import ingest_checks
from hub.ingest.app import IngestDeps
from hub.ingest.credentials import CredentialStore
from hub.ingest.ledger import KafkaLedger
from hub.ingest.publisher import TransactionalPublisher
from hub.ingest.worker import BatchTools, BatchWorkers
from hub.security.envelope import Sealer
from hub.security.keys import KeyIds, inbound_kek, inbound_mac
from hub.security.mac import CurrentId, Link, RecordMac
from hub.settings import HubSettings
from hub.topology import connector_transaction, inbound_topic
from hub.web import TokenBuckets
from schemas.common import Partner


def sealer_for(hub: Hub, partner: Partner) -> Sealer:
    """How one partner's envelopes are sealed and authenticated."""
    keys = hub.keyring()
    crypto = hub.settings.crypto
    kek = keys.secret(inbound_kek(partner)) if crypto.encrypt else None
    mac = None
    if crypto.sign:
        name = inbound_mac(partner)
        mac = RecordMac(Link.INBOUND, KeyIds(keys, name), CurrentId(keys, name))
    return Sealer(kek, mac, hub.partitions(inbound_topic(partner)))


def batch_tools(settings: HubSettings, partners: tuple[Partner, ...]) -> BatchTools:
    """A batch worker process's connectors and sealers, its keys read from the keyring there."""
    hub = Hub(settings)
    return BatchTools(
        connectors={c.partner: c for c in all_connectors() if c.partner in partners},
        sealers={p: sealer_for(hub, p) for p in partners},
        subject_key_secret=subject_key_secret(hub.keyring()),
    )


def ingest_deps(hub: Hub, partners: tuple[Partner, ...] = tuple(Partner)) -> IngestDeps:
    """Everything the ingest app needs."""
    s = hub.settings
    c = s.connectors
    # Each partner's producer and ledger reader log in as that partner's principal when
    # components have principals of their own (a partner's may write only its topic).
    identity = {p: hub.kafka_as(f"connector-{p.value}") for p in partners}
    readers = identity if s.security.per_component else {}
    limiter = TokenBuckets(burst=c.rate_burst, per_s=c.rate_per_s)
    return IngestDeps(
        credentials=CredentialStore(c.credentials_file),
        ledger=KafkaLedger(
            kafka=s.kafka,
            partners=partners,
            readers=readers,
            status_reader=hub.kafka_as("connectors-status") if readers else None,
        ),
        publishers={
            p: TransactionalPublisher(
                identity[p], connector_transaction(p, c.instance), timeout_s=c.publish_timeout_s
            )
            for p in partners
        },
        # Large batches get a transaction of their own, so that single messages posted
        # meanwhile are not held until a batch of thousands has committed.
        bulk_publishers={
            p: TransactionalPublisher(
                identity[p],
                connector_transaction(p, f"{c.instance}-bulk"),
                timeout_s=c.publish_timeout_s,
            )
            for p in partners
        },
        ops_token=s.http.ops_token,
        sealers={p: sealer_for(hub, p) for p in partners},
        subject_key_secret=subject_key_secret(hub.keyring()),
        clock=utc_now,
        retry_after_s=c.retry_after_s,
        limiter=limiter,
        checks=ingest_checks(hub, [p.value for p in partners], limiter),
        batch_workers=BatchWorkers(functools.partial(batch_tools, s, partners)),
    )
