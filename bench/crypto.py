"""The router's per-message crypto, primitive by primitive, in-process (no Kafka).

What trust between components costs on the router's hot path (docs/security.md, "The
signing scheme, and why"): the inbound record's MAC check, one MAC per routed copy, the
routed-id lookup, and the data-key unwrap and per-area re-wrap; beside them, what one
Ed25519 verification per record would cost (the scheme the MACs replaced). Then
:func:`hub.router.handler.route_record` alone, crypto on and off, on the same records.

Every figure is CPU time (``time.process_time``, this process only), the best of
``repeats`` runs, per record, on real sealed inbound values from the bench traffic:
the machine is shared, and the best run is the one least disturbed.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import hub_with_keys
from bench.records import encode, envelopes
from bench.report import table
from bench.router_throughput import _in_record, _route_all
from hub.router.handler import _parse
from hub.router.replay import RoutedIds
from hub.security.envelope import Opener
from hub.security.keys import init_keyring
from hub.security.signing import SignatureVerifier, Signer
from hub.topology import INBOUND_PARTNER, route_topic
from schemas.common import Area


def best_us(work: Callable[[], object], count: int, repeats: int) -> float:
    """The best of ``repeats`` runs of ``work`` (``count`` records), in µs per record."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return round(best / count * 1e6, 2)


async def run(messages: int, repeats: int = 7) -> dict[str, Any]:
    """Measure each primitive, then the handler crypto on and off; return the figures."""
    with tempfile.TemporaryDirectory(prefix="bench-crypto-") as tmp:
        keys = Path(tmp) / "keys"
        init_keyring(keys)
        sent = envelopes(messages)
        primitives = _primitives(keys, sent, repeats)
        handler = {}
        for crypto in (True, False):
            hub = hub_with_keys(keys, encrypt=crypto, sign=crypto)
            inbound = [_in_record(i, r) for i, r in enumerate(encode(hub, sent))]
            ctx = hub.router_context()
            state = Path(tmp) / f"state-{crypto}"
            cost = best_us(lambda: _route_all(inbound, ctx, state), len(inbound), 3)  # noqa: B023
            handler["on" if crypto else "off"] = {
                "us_per_message": cost,
                "msg_per_s": round(1e6 / cost),
            }
    table(
        "Router crypto per record (CPU µs, best run)",
        ["primitive", "µs"],
        list(primitives.items()),
    )
    table(
        "route_record alone, in-process",
        ["crypto", "µs/message", "msg/s"],
        [[k, v["us_per_message"], v["msg_per_s"]] for k, v in handler.items()],
    )
    return {"records": messages, "primitives_us": primitives, "route_record": handler}


def _primitives(keys: Path, sent: list[Any], repeats: int) -> dict[str, float]:
    hub = hub_with_keys(keys)
    records = encode(hub, sent)
    ctx = hub.router_context()
    return {
        **_mac_figures(ctx, records, repeats),
        **_other_figures(ctx, records, repeats),
    }


def _mac_figures(ctx: Any, records: list[Any], repeats: int) -> dict[str, float]:
    macs = ctx.macs
    n = len(records)

    def verify_inbound() -> None:
        for r in records:
            mac = macs.inbound[INBOUND_PARTNER[r.topic]]
            mac.verify(r.topic, r.partition, r.key, r.value, r.headers)

    def mac_copies() -> None:
        mac, topic = macs.routed[Area.MASH], route_topic(Area.MASH)
        for r in records:
            mac.headers(topic, r.partition, r.key, r.value)

    signer = Signer(b"bench\x00", "k1", Ed25519PrivateKey.generate())
    signed = [signer.headers(r.value) for r in records]
    ed25519 = SignatureVerifier(b"bench\x00", {"k1": signer._key.public_key()})  # noqa: SLF001

    def verify_ed25519() -> None:
        for r, headers in zip(records, signed, strict=True):
            ed25519.verify(r.value, headers)

    return {
        "inbound MAC verify (RecordMac.verify)": best_us(verify_inbound, n, repeats),
        "routed-copy MAC (RecordMac.headers)": best_us(mac_copies, n, repeats),
        "for comparison: Ed25519 verify per record (the old scheme)": best_us(
            verify_ed25519, n, repeats
        ),
    }


def _other_figures(ctx: Any, records: list[Any], repeats: int) -> dict[str, float]:
    messages = [_parse(r.value) for r in records]
    ids = RoutedIds()
    for m in messages:
        ids.add_message(m.metadata.message_id)

    def lookup() -> None:
        for m in messages:
            ids.routed(m.metadata.message_id)

    def rewrap() -> None:
        for m in messages:
            keks = ctx.inbound_keks[m.metadata.partner.value]
            Opener(m, keks, ctx.area_keks, encrypt=True).for_area(Area.MASH)

    return {
        "routed-id lookup": best_us(lookup, len(messages), repeats),
        "data-key unwrap + one area's re-wrap (Opener.for_area)": best_us(
            rewrap, len(messages), repeats
        ),
    }
