"""Ed25519 signatures where a third party verifies: purpose-bound, by key id."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.errors import SignatureError
from hub.security.signing import SIGNATURE_HEADER, SignatureVerifier, Signer

KEY = Ed25519PrivateKey.generate()


def verifier(context: bytes = b"ctx\x00") -> SignatureVerifier:
    return SignatureVerifier(context, {"k1": KEY.public_key()})


class TestSignatures:
    def test_a_good_signature_verifies_with_the_public_key_alone(self) -> None:
        """The verifier holds the public key only."""
        headers = Signer(b"ctx\x00", "k1", KEY).headers(b"value")
        assert verifier().verify(b"value", headers) == "k1"
        assert len(dict(headers)[SIGNATURE_HEADER]) == 64

    def test_a_changed_value_or_purpose_is_refused(self) -> None:
        """One changed byte, or a signature made for another purpose, does not verify."""
        headers = Signer(b"ctx\x00", "k1", KEY).headers(b"value")
        with pytest.raises(SignatureError, match="does not verify"):
            verifier().verify(b"valuf", headers)
        with pytest.raises(SignatureError, match="does not verify"):
            verifier(b"other\x00").verify(b"value", headers)

    def test_unknown_key_and_missing_signature(self) -> None:
        """A key id nobody published, or no signature, is refused."""
        headers = Signer(b"ctx\x00", "k9", Ed25519PrivateKey.generate()).headers(b"v")
        with pytest.raises(SignatureError, match="unknown signing key id 'k9'"):
            verifier().verify(b"v", headers)
        with pytest.raises(SignatureError, match="not signed"):
            verifier().verify(b"v", [])
