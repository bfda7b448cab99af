"""Key rotation without restarts: new key ids are found, new current keys are used."""

from __future__ import annotations

import time

from hub.bootstrap import Hub
from hub.router.handler import InRecord, TaskState, route_record
from hub.router.history import HistoryStore
from hub.security.envelope import Sealer
from hub.security.keys import (
    CurrentKeys,
    KeyIds,
    Keyring,
    area_kek,
    inbound_kek,
    rotate,
)
from hub.settings import CryptoSettings, HubSettings
from schemas.common import Area, Partner, RiskLevel
from tests.factories import NOW, Clock, envelope, risk


class TestKeyIds:
    def test_a_rotated_in_key_is_found_after_the_reload_interval(self, keys: Keyring) -> None:
        """An unknown id triggers a re-read, at most once per interval."""
        clock = Clock()
        ids = KeyIds(keys, inbound_kek(Partner.POLICE), reload_every_s=1.0, clock=clock)
        new = rotate(keys.root, inbound_kek(Partner.POLICE))
        assert ids.get(new) is None  # within the interval: not re-read yet
        clock.now = 1.5
        assert ids.get(new) is not None
        assert ids.get("k1") is not None  # the old id stays readable

    def test_current_area_keys_refresh(self, keys: Keyring) -> None:
        """The area's current key changes after a rotation once the refresh is due."""
        clock = Clock()
        current = CurrentKeys(keys, refresh_s=30, clock=clock)
        assert current[Area.MASH].key_id == "k1"
        rotate(keys.root, area_kek(Area.MASH))
        assert current[Area.MASH].key_id == "k1"
        clock.now = 31
        assert current[Area.MASH].key_id == "k2"


def test_router_routes_across_an_inbound_key_rotation(keys: Keyring) -> None:
    """A partner switching to a new inbound key is routed without restarting the router."""
    hub = Hub(HubSettings(crypto=CryptoSettings(keys_dir=keys.root, sign=False)))
    ctx = hub.router_context(lambda: NOW)
    task = TaskState(0, HistoryStore())
    first = Sealer(keys.secret(inbound_kek(Partner.POLICE)), None, 6).encode(
        envelope(risk=risk(RiskLevel.HIGH))
    )
    out = route_record(InRecord(first.topic, 0, 0, first.key, first.value), ctx, task)
    assert "route.mash" in [o.topic for o in out]
    rotate(keys.root, inbound_kek(Partner.POLICE))
    time.sleep(1.1)
    second = Sealer(keys.secret(inbound_kek(Partner.POLICE)), None, 6).encode(
        envelope(risk=risk(RiskLevel.HIGH))
    )
    out = route_record(InRecord(second.topic, 0, 1, second.key, second.value), ctx, task)
    assert "hub.dlq" not in [o.topic for o in out]
    assert "route.mash" in [o.topic for o in out]
