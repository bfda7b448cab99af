"""Every web app serves HTTPS when a certificate is configured (only the ingest could).

The real processes (``hub teams serve``, ``hub monitor run``) with a certificate and
key in their settings answer over TLS and not in plain HTTP; the team app's session
cookie is then ``Secure`` without being told.
"""

from __future__ import annotations

import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from hub.security.keys import init_keyring
from hub.settings import KafkaSettings
from tests.e2e.processes import free_port, hub_env, start, stop
from tests.e2e.test_tls import self_signed


def _serve_https(
    args: list[str], env: dict[str, str], log: Path, port: int, cert: Path
) -> tuple[subprocess.Popen[bytes], ssl.SSLContext]:
    proc = start([*args, "--port", str(port)], env, log)
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"https://localhost:{port}/health", verify=context, timeout=2)
        except httpx.ConnectError:
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the HTTPS server did not start"
            time.sleep(0.2)
        else:
            return proc, context


def _plain_refused(port: int) -> bool:
    try:
        answer = httpx.get(f"http://localhost:{port}/health", timeout=2)
    except httpx.HTTPError:
        return True
    return answer.status_code != 200


@pytest.mark.parametrize(
    ("args", "section"),
    [(["teams", "serve"], "TEAMS"), (["monitor", "run"], "MONITOR")],
    ids=["teams", "monitor"],
)
def test_serves_https_with_a_certificate(
    hub_topics: KafkaSettings, tmp_path: Path, args: list[str], section: str
) -> None:
    init_keyring(tmp_path / "keys")
    cert, key = self_signed(tmp_path)
    env = hub_env(
        hub_topics,
        tmp_path,
        **{f"HUB_{section}__TLS_CERTFILE": str(cert), f"HUB_{section}__TLS_KEYFILE": str(key)},
    )
    log = tmp_path / f"{args[0]}.log"
    port = free_port()
    proc, context = _serve_https(args, env, log, port, cert)
    try:
        if section == "TEAMS":
            sign_in = httpx.get(f"https://localhost:{port}/sign-in", verify=context, timeout=5)
            assert sign_in.status_code == 200
            assert "Secure" in sign_in.headers["set-cookie"]
        assert _plain_refused(port)
    finally:
        assert stop(proc) == 0, log.read_text()[-2000:]
