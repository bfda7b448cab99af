"""Building the agency checks' parts from settings (team app and partner ingest)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import structlog

from hub.bootstrap import Hub, utc_now
from hub.checks.crypto import CheckKeys
from hub.checks.index import KafkaCheckIndex
from hub.checks.writer import TransactionalCheckWriter
from hub.ingest.checkcredentials import CheckCredentialStore, check_credentials_file
from hub.ingest.checks import IngestChecks
from hub.partners.accounts import PartnerAccounts
from hub.partners.page import PartnerPages
from hub.security.keys import KeyIds, check_kek, check_mac
from hub.security.mac import CurrentId, Link, RecordMac
from hub.teams.checkconsumer import CheckConsumer
from hub.teams.checks import TeamChecks
from hub.teams.checkstore import CheckStore
from hub.topology import CHECK_RESPONSES, CHECKS, check_answers_transaction, checks_transaction
from hub.web import TokenBuckets
from schemas.checks import CheckPartner
from schemas.common import Area, Partner

log = structlog.get_logger("hub.bootstrap")


def check_keys(hub: Hub, partners: Iterable[CheckPartner]) -> dict[CheckPartner, CheckKeys] | None:
    """Each partner's check keys from the keyring; None when one is missing (logged)."""
    wanted = list(partners)
    found = held_check_keys(hub, wanted)
    if len(found) < len(wanted):
        log.warning("checks_disabled_no_keys", missing=[p.value for p in wanted if p not in found])
        return None
    return found


def held_check_keys(hub: Hub, partners: Iterable[CheckPartner]) -> dict[CheckPartner, CheckKeys]:
    """The check keys of those of ``partners`` whose keys this process holds."""
    keys = hub.keyring()
    found: dict[CheckPartner, CheckKeys] = {}
    for partner in partners:
        if not keys.secrets(check_kek(partner)) or not keys.secrets(check_mac(partner)):
            continue
        keks = KeyIds(keys, check_kek(partner))
        macs = KeyIds(keys, check_mac(partner))
        request_mac = answer_mac = None
        if hub.settings.crypto.sign:
            current_mac = CurrentId(keys, check_mac(partner))
            request_mac = RecordMac(Link.CHECK, macs, current_mac)
            answer_mac = RecordMac(Link.CHECK_ANSWER, macs, current_mac)
        found[partner] = CheckKeys(
            partner, keks, CurrentId(keys, check_kek(partner)), request_mac, answer_mac
        )
    return found


def team_checks(hub: Hub, served: tuple[Area, ...]) -> TeamChecks | None:
    """The checks of a team instance that serves an asking area (the MASH), else None."""
    asking = frozenset(served) & {Area.MASH}
    if not asking:
        return None
    keys = check_keys(hub, CheckPartner)
    if keys is None:
        return None
    settings = hub.settings.teams
    kafka = hub.kafka_as(f"team-{Area.MASH.value}")
    store = CheckStore(settings.state_dir / f"{settings.instance}-checks.sqlite")
    client_id = f"teams-{settings.instance}-checks"
    return TeamChecks(
        store=store,
        writer=TransactionalCheckWriter(kafka, checks_transaction(Area.MASH, settings.instance)),
        keys=keys,
        deadlines=hub.settings.checks,
        partitions=hub.partitions(CHECKS),
        asking_areas=asking,
        consumer=CheckConsumer(kafka, store, keys, asking, client_id),
    )


def ingest_checks(
    hub: Hub, connector_partners: Iterable[str], limiter: TokenBuckets | None = None
) -> IngestChecks | None:
    """The partner check endpoints: the connectors' partners and the answer-only ones.

    Served: each of those whose check keys this process holds (a connector's own key
    directory holds its partner's only). None when it holds none.
    """
    wanted = [CheckPartner(p) for p in connector_partners]
    wanted += [p for p in CheckPartner if p.value not in {q.value for q in Partner}]
    keys = held_check_keys(hub, dict.fromkeys(wanted))
    if not keys:
        return None
    c = hub.settings.connectors
    return IngestChecks(
        index=KafkaCheckIndex(keys=keys, kafka=hub.kafka_as("checks-index")),
        writers={
            p: TransactionalCheckWriter(
                hub.kafka_as(f"connector-{p.value}"),
                check_answers_transaction(p.value, c.instance),
                timeout_s=c.publish_timeout_s,
            )
            for p in keys
        },
        keys=keys,
        credentials=CheckCredentialStore(check_credentials_file(c.credentials_file)),
        partitions=hub.partitions(CHECK_RESPONSES),
        clock=utc_now,
        retry_after_s=c.retry_after_s,
        limiter=limiter,
    )


def partner_accounts_file(hub: Hub) -> Path:
    """Partner staff accounts and sessions (``hub partners add-user``)."""
    return hub.settings.connectors.state_dir / "partner-accounts.sqlite"


def partner_pages(hub: Hub, checks: IngestChecks | None) -> PartnerPages | None:
    """The answer pages of partner staff, when the ingest serves checks."""
    if checks is None:
        return None
    c = hub.settings.connectors
    return PartnerPages(
        checks=checks,
        accounts=PartnerAccounts(partner_accounts_file(hub)),
        secure_cookies=c.tls_certfile is not None,
    )
