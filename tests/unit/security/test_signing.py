"""Signatures: tamper, unknown key, replay onto another partner, rotation without restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import SignatureError
from hub.security.keys import Keyring, create_signing_pair, init_keyring, rotate, signing_key
from hub.security.signing import SIGNATURE_HEADER, Signer, Verifier


def signer(keys: Keyring, partner: str) -> Signer:
    kid, private = keys.private_key(signing_key(partner))
    return Signer(partner, kid, private)


@pytest.fixture
def keys(tmp_path: Path) -> Keyring:
    init_keyring(tmp_path)
    return Keyring(tmp_path)


def verifier(keys: Keyring) -> Verifier:
    def registry() -> dict[str, dict[str, object]]:
        return {p: keys.public_keys(signing_key(p)) for p in ("police", "health")}

    return Verifier(registry(), registry, reload_every_s=0)  # type: ignore[arg-type]


class TestSignatures:
    def test_a_good_signature_verifies(self, keys: Keyring) -> None:
        """A record signed by the partner's current key verifies."""
        headers = signer(keys, "police").headers(b"value")
        assert verifier(keys).verify("police", b"value", headers) == "k1"

    def test_a_changed_value_is_refused(self, keys: Keyring) -> None:
        """One changed byte breaks the signature."""
        headers = signer(keys, "police").headers(b"value")
        with pytest.raises(SignatureError, match="does not verify"):
            verifier(keys).verify("police", b"valuf", headers)

    def test_another_partners_topic_is_refused(self, keys: Keyring) -> None:
        """A police signature replayed onto the health topic does not verify."""
        headers = signer(keys, "police").headers(b"value")
        with pytest.raises(SignatureError):
            verifier(keys).verify("health", b"value", headers)

    def test_unknown_key_id_and_missing_signature(self, keys: Keyring) -> None:
        """A key id nobody published, or no signature at all, is refused."""
        headers = [("hub-key-id", b"k99"), *signer(keys, "police").headers(b"v")[1:]]
        with pytest.raises(SignatureError, match="unknown signing key id 'k99'"):
            verifier(keys).verify("police", b"v", headers)
        with pytest.raises(SignatureError, match="not signed"):
            verifier(keys).verify("police", b"v", [])

    def test_garbage_signature_is_refused(self, keys: Keyring) -> None:
        """A signature that is not base64 is a refusal, not a crash."""
        headers = [("hub-key-id", b"k1"), (SIGNATURE_HEADER, b"%%%")]
        with pytest.raises(SignatureError):
            verifier(keys).verify("police", b"v", headers)

    def test_rotation_without_restart(self, keys: Keyring) -> None:
        """A key added after the verifier started is picked up; the old one still works."""
        check = verifier(keys)
        old = signer(keys, "police").headers(b"v")
        rotate(keys.root, signing_key("police"))
        new = signer(keys, "police").headers(b"v")
        assert dict(new)["hub-key-id"] == b"k2"
        assert check.verify("police", b"v", new) == "k2"
        assert check.verify("police", b"v", old) == "k1"

    def test_prepublished_key_is_accepted_before_it_is_current(self, keys: Keyring) -> None:
        """Publishing a new public key first, then switching, needs no restart either."""
        check = verifier(keys)
        kid = create_signing_pair(keys.root, signing_key("health"), make_current=False)
        assert keys.current_id(signing_key("health")) == "k1"
        (keys.root / signing_key("health") / "current").write_text(kid)
        assert check.verify("health", b"x", signer(keys, "health").headers(b"x")) == kid
