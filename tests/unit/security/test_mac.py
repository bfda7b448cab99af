"""Record MACs: tamper, unknown key, another topic, partition or key, rotation without restart."""

from __future__ import annotations

import pytest

from hub.errors import SignatureError
from hub.security.keys import KeyIds, Keyring, create_secret, inbound_mac, rotate
from hub.security.mac import MAC_HEADER, CurrentId, Link, RecordMac
from tests.factories import Clock

TOPIC = "partner.police.inbound"


def writer(keys: Keyring, clock: Clock | None = None) -> RecordMac:
    name = inbound_mac("police")
    options = {"clock": clock} if clock else {}
    return RecordMac(
        Link.INBOUND, KeyIds(keys, name, reload_every_s=0), CurrentId(keys, name, **options)
    )


def reader(
    keys: Keyring, name: str = inbound_mac("police"), link: Link = Link.INBOUND
) -> RecordMac:
    return RecordMac(link, KeyIds(keys, name, reload_every_s=0))


class TestMacs:
    def test_a_good_mac_verifies(self, keys: Keyring) -> None:
        """A record MACed with the current key verifies and names the key id."""
        headers = writer(keys).headers(TOPIC, 3, b"key", b"value")
        assert reader(keys).verify(TOPIC, 3, b"key", b"value", headers) == "k1"

    @pytest.mark.parametrize(
        ("topic", "partition", "key", "value"),
        [
            (TOPIC, 3, b"key", b"valuf"),
            ("partner.health.inbound", 3, b"key", b"value"),
            (TOPIC, 4, b"key", b"value"),
            (TOPIC, 3, b"other", b"value"),
            (TOPIC, 3, None, b"value"),
            (TOPIC, 3, b"", b"value"),
        ],
        ids=["value", "topic", "partition", "key", "no key", "empty key"],
    )
    def test_anything_changed_is_refused(
        self, keys: Keyring, topic: str, partition: int, key: bytes | None, value: bytes
    ) -> None:
        """The MAC covers the topic, partition, key and value: change one and it fails."""
        headers = writer(keys).headers(TOPIC, 3, b"key", b"value")
        with pytest.raises(SignatureError, match="does not verify"):
            reader(keys).verify(topic, partition, key, value, headers)

    def test_another_link_or_key_name_is_refused(self, keys: Keyring) -> None:
        """The same bytes MACed for one link do not verify for another, nor with another key."""
        headers = writer(keys).headers(TOPIC, 3, b"key", b"value")
        with pytest.raises(SignatureError):
            reader(keys, link=Link.ROUTED).verify(TOPIC, 3, b"key", b"value", headers)
        with pytest.raises(SignatureError):
            reader(keys, inbound_mac("health")).verify(TOPIC, 3, b"key", b"value", headers)

    def test_unknown_key_id_missing_and_garbage_macs(self, keys: Keyring) -> None:
        """A key id nobody holds, no MAC at all, or a MAC of the wrong size is refused."""
        good = writer(keys).headers(TOPIC, 0, b"k", b"v")
        with pytest.raises(SignatureError, match="unknown inbound key id 'k99'"):
            reader(keys).verify(TOPIC, 0, b"k", b"v", [("hub-key-id", b"k99"), good[1]])
        with pytest.raises(SignatureError, match="no inbound MAC"):
            reader(keys).verify(TOPIC, 0, b"k", b"v", [])
        with pytest.raises(SignatureError, match="does not verify"):
            reader(keys).verify(TOPIC, 0, b"k", b"v", [good[0], (MAC_HEADER, b"%%%")])

    def test_a_verifier_cannot_write(self, keys: Keyring) -> None:
        """A component that only verifies a link holds no current key to MAC with."""
        with pytest.raises(SignatureError, match="no inbound key"):
            reader(keys).headers(TOPIC, 0, b"k", b"v")


class TestRotation:
    def test_rotation_without_restart(self, keys: Keyring) -> None:
        """A key rotated in after start is used once re-read; the old id still verifies."""
        clock = Clock()
        mac, check = writer(keys, clock), reader(keys)
        old = mac.headers(TOPIC, 0, b"k", b"v")
        rotate(keys.root, inbound_mac("police"))
        assert dict(mac.headers(TOPIC, 0, b"k", b"v"))["hub-key-id"] == b"k1"  # not re-read yet
        clock.now = 31
        new = mac.headers(TOPIC, 0, b"k", b"v")
        assert dict(new)["hub-key-id"] == b"k2"
        assert check.verify(TOPIC, 0, b"k", b"v", new) == "k2"
        assert check.verify(TOPIC, 0, b"k", b"v", old) == "k1"

    def test_a_prepublished_key_verifies_before_it_is_current(self, keys: Keyring) -> None:
        """A key given to the verifier first and made current later needs no restart."""
        check = reader(keys)
        kid = create_secret(keys.root, inbound_mac("police"), make_current=False)
        (keys.root / inbound_mac("police") / "current").write_text(kid)
        headers = writer(keys).headers(TOPIC, 0, b"k", b"v")
        assert check.verify(TOPIC, 0, b"k", b"v", headers) == kid
