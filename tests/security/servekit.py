"""A hub web app served for real (uvicorn, the hub's own configuration) in a thread."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from hub.ingest.app import IngestDeps, create_app
from hub.settings import HttpSettings
from hub.web import http_config
from schemas.common import Partner
from tests.e2e.processes import free_port
from tests.memory_ingest import memory_ingest_deps


def ingest_deps(state: Path) -> tuple[IngestDeps, dict[Partner, str]]:
    """The ingest's parts on in-memory ports; each partner's credential."""
    return memory_ingest_deps(
        state, datetime(2026, 11, 2, 10, 0, tzinfo=UTC), secret=b"security-test-secret"
    )


def ingest_app(state: Path) -> tuple[FastAPI, str]:
    """The ingest app on in-memory ports, and the police credential."""
    deps, tokens = ingest_deps(state)
    return create_app(deps), tokens[Partner.POLICE]


@contextlib.contextmanager
def served(
    app: Any,
    settings: HttpSettings | None = None,
    *,
    certfile: Path | None = None,
    keyfile: Path | None = None,
) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 as ``hub ... serve`` would; yield the port."""
    port = free_port()
    config = http_config(
        app, "127.0.0.1", port, settings or HttpSettings(), certfile=certfile, keyfile=keyfile
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start in 30 s"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(40)


def half_open(port: int, source: str, head: bytes) -> socket.socket:
    """A connection from ``source`` that sent ``head`` and nothing more."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.sendall(head)
    return sock


def readable(sock: socket.socket, timeout_s: float) -> bool:
    """Has the server written something (or closed) within ``timeout_s``?"""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(timeout=timeout_s))


def read_until_closed(sock: socket.socket, timeout_s: float) -> bytes:
    """Everything the server writes on ``sock`` until it closes it (or ``timeout_s``)."""
    sock.settimeout(timeout_s)
    chunks = []
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
