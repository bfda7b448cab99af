"""The ingest serves HTTPS when given a certificate (TLS-ready configuration)."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.security.keys import init_keyring
from hub.settings import KafkaSettings
from tests.e2e.processes import free_port, hub_env, start, stop


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_connectors_serve_https(hub_topics: KafkaSettings, tmp_path: Path) -> None:
    """With a certificate and key the ingest answers over TLS, and not in plain HTTP."""
    init_keyring(tmp_path / "keys")
    cert, key = self_signed(tmp_path)
    env = hub_env(
        hub_topics,
        tmp_path,
        HUB_CONNECTORS__TLS_CERTFILE=str(cert),
        HUB_CONNECTORS__TLS_KEYFILE=str(key),
    )
    port = free_port()
    log = tmp_path / "connectors.log"
    proc = start(["connectors", "serve", "--port", str(port)], env, log)
    context = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
        while True:
            try:
                health = httpx.get(f"https://localhost:{port}/health", verify=context, timeout=2)
                if health.status_code == 200:  # 503 while the ledger catches up
                    break
            except httpx.ConnectError:
                pass
            assert proc.poll() is None, log.read_text()[-2000:]
            assert dt.datetime.now(dt.UTC) < deadline, "the HTTPS server did not get ready"
            time.sleep(0.2)
        assert health.status_code == 200
        plain = None
        try:
            plain = httpx.get(f"http://localhost:{port}/health", timeout=2)
        except httpx.HTTPError:
            plain = None
        assert plain is None or plain.status_code != 200
    finally:
        assert stop(proc) == 0, log.read_text()[-2000:]
