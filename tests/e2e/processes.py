"""Starting the hub's real processes (``hub ... run/serve``) for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hub.settings import KafkaSettings
from schemas.common import Partner
from tests.commands import run_hub
from tests.orgs import org_args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hub_env(kafka: KafkaSettings, tmp: Path, **extra: str) -> dict[str, str]:
    """Environment for a hub process using this test's topics, keys and state."""
    return {
        **os.environ,
        "HUB_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "HUB_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
        "HUB_CRYPTO__KEYS_DIR": str(tmp / "keys"),
        "HUB_ROUTER__STATE_DIR": str(tmp / "router"),
        "HUB_CONNECTORS__STATE_DIR": str(tmp / "connectors"),
        "HUB_TEAMS__STATE_DIR": str(tmp / "teams"),
        "HUB_MONITOR__STATE_DIR": str(tmp / "monitor"),
        "HUB_LOGGING__LEVEL": "INFO",
        **extra,
    }


def hub_command(*args: str, env: dict[str, str]) -> str:
    """Run a one-shot hub command; return its stdout."""
    done = run_hub(*args, env=env)
    done.check_returncode()
    return done.stdout


def partner_token(partner: Partner, env: dict[str, str]) -> str:
    """Register ``partner`` for its test organisations (``hub partners add``): its token."""
    added = hub_command("partners", "add", partner.value, *org_args(partner), env=env)
    return added.strip().splitlines()[-1]


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def wait_http_ready(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).json().get("ready"):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 30) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
