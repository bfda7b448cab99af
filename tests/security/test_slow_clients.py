"""Slow and half-sent requests cannot deny service (DESIGN.md section 14, web front doors).

Each test attacks a real served hub app (uvicorn in a thread, configured by
``hub.web.http_config`` exactly as ``hub ... serve`` is). Before the receipt deadline
protocol, 1,100 half-sent requests made uvicorn's ``limit_concurrency`` answer every
new request ``503`` for as long as they were held, and they were held for ever.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import resource
import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.monitor.service import MonitorState
from hub.monitor.web import create_app
from hub.settings import HttpSettings
from hub.web import SECURITY_HEADERS, raise_open_file_limit
from tests.security.servekit import half_open, ingest_app, read_until_closed, readable, served

HALF_SENT = b"GET /metrics HTTP/1.1\r\nHost: hub\r\nX-Slow: "
ATTACKERS = [f"127.0.0.{i}" for i in range(2, 7)]  # five hosts, 220 connections each


def _status_and_head(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@contextlib.contextmanager
def holding(sockets: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


class TestHalfSentRequests:
    def test_1100_half_open_connections_do_not_deny_a_normal_request(self) -> None:
        """A normal request is answered while 1,100 half-sent requests are held; they are cut."""
        raise_open_file_limit()
        settings = HttpSettings(header_timeout_s=4.0)
        with served(create_app(MonitorState()), settings) as port:
            attack = [half_open(port, ATTACKERS[i % 5], HALF_SENT) for i in range(1100)]
            with holding(attack):
                time.sleep(0.5)  # every connection accepted and parked by the server
                began = time.perf_counter()
                answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0)
                took = time.perf_counter() - began
                print(
                    f"normal request with 1,100 held: {answer.status_code} in {took * 1000:.1f} ms"
                )
                assert answer.status_code == 200
                # Past the deadline, every held connection has been answered 408 and closed.
                cut = _closed_with_408(attack, within_s=10.0)
        assert cut == len(attack)

    def test_a_half_sent_request_gets_a_408_problem_and_is_closed(self) -> None:
        """Headers never finished: 408 problem+json with the security headers, then close."""
        with served(create_app(MonitorState()), HttpSettings(header_timeout_s=1.0)) as port:
            sock = half_open(port, "127.0.0.1", b"GET /metrics HTTP/1.1\r\nHost: h")
            began = time.monotonic()
            raw = read_until_closed(sock, timeout_s=5.0)
            took = time.monotonic() - began
            sock.close()
        status, headers, body = _status_and_head(raw)
        assert status == 408
        assert 0.5 < took < 4.0
        assert headers["content-type"] == "application/problem+json"
        assert headers["connection"] == "close"
        for name, value in SECURITY_HEADERS.items():
            assert headers[name.lower()] == value
        assert json.loads(body)["status"] == 408

    def test_a_trickled_body_is_cut_off_quietly(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Headers in, then a byte now and then: below the minimum rate the body is cut (408).

        The handler reading the body sees the client disconnect, which is answered
        without a traceback (one per cut body once flooded the log).
        """
        settings = HttpSettings(body_grace_s=1.0, body_min_bytes_per_s=1024)
        app, token = ingest_app(tmp_path)
        head = (
            b"POST /v1/police/notifications HTTP/1.1\r\nHost: h\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
        with served(app, settings) as port:
            sock = half_open(port, "127.0.0.1", head)
            began = time.monotonic()
            while time.monotonic() - began < 8 and not readable(sock, 0.3):
                sock.sendall(b" ")
            raw = read_until_closed(sock, timeout_s=5.0)
            took = time.monotonic() - began
            sock.close()
        assert _status_and_head(raw)[0] == 408
        assert took < 5.0
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    def test_one_address_cannot_take_every_connection(self) -> None:
        """Above its cap an address is refused with a 429, and others are still served."""
        settings = HttpSettings(max_connections_per_client=20)
        with served(create_app(MonitorState()), settings) as port:
            held = [half_open(port, "127.0.0.2", HALF_SENT) for _ in range(20)]
            with holding(held):
                extra = half_open(port, "127.0.0.2", HALF_SENT)
                raw = read_until_closed(extra, timeout_s=3.0)
                extra.close()
                answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0)
        assert _status_and_head(raw)[0] == 429
        assert answer.status_code == 200

    def test_a_configured_proxy_has_no_cap(self) -> None:
        """The proxies' own address is exempt: everyone behind them shares it."""
        settings = HttpSettings(max_connections_per_client=5, trusted_proxies=("127.0.0.2",))
        with served(create_app(MonitorState()), settings) as port:
            held = [half_open(port, "127.0.0.2", HALF_SENT) for _ in range(10)]
            with holding(held):
                answered = [s for s in held if readable(s, 0.05)]
        assert answered == []

    def test_above_the_maximum_the_oldest_receiving_connection_is_shed(self) -> None:
        """A flood from many addresses sheds the oldest half-sent request, not new clients."""
        settings = HttpSettings(max_connections=30)
        with served(create_app(MonitorState()), settings) as port:
            held = [half_open(port, ATTACKERS[i % 5], HALF_SENT) for i in range(60)]
            with holding(held):
                answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0)
                first = read_until_closed(held[0], timeout_s=3.0)
        assert answer.status_code == 200
        assert _status_and_head(first)[0] == 408

    def test_pipelined_requests_are_answered_and_then_the_deadline_runs_again(self) -> None:
        """Two requests in one write: both answered, then the idle connection gets its 408."""
        with served(create_app(MonitorState()), HttpSettings(header_timeout_s=1.0)) as port:
            sock = half_open(
                port, "127.0.0.1", b"GET /static/scorecard.css HTTP/1.1\r\nHost: hub\r\n\r\n" * 2
            )
            began = time.monotonic()
            raw = read_until_closed(sock, timeout_s=5.0)
            took = time.monotonic() - began
            sock.close()
        statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]
        assert statuses == [200, 200, 408]
        assert 0.5 < took < 4.0

    def test_an_understated_length_smuggles_no_body_past_the_cap(self) -> None:
        """Bytes beyond a declared length are a next request, refused as not HTTP and closed.

        The body cap trusts a declared length within the limit (it no longer counts such a
        body), because the server's parser delivers that many bytes and no more.
        """
        with served(create_app(MonitorState())) as port:
            head = b"POST /metrics HTTP/1.1\r\nHost: hub\r\nContent-Length: 10\r\n\r\n"
            sock = half_open(port, "127.0.0.1", head + b"x" * 10 + b"y" * 200_000)
            raw = read_until_closed(sock, timeout_s=5.0)
            sock.close()
        statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]
        # The declared request may or may not be answered (405) before the parser meets the
        # rest; the rest is never read as its body, and ends the connection with a 400.
        assert statuses in ([405, 400], [400])

    def test_a_length_and_a_chunked_body_together_are_refused(self) -> None:
        """A request that declares a length and chunked coding (request smuggling) is a 400."""
        with served(create_app(MonitorState())) as port:
            head = (
                b"POST /metrics HTTP/1.1\r\nHost: hub\r\nContent-Length: 4\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            sock = half_open(port, "127.0.0.1", head + b"ffff\r\n" + b"z" * 70_000)
            raw = read_until_closed(sock, timeout_s=5.0)
            sock.close()
        statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]
        assert statuses == [400]

    def test_garbage_is_a_400_problem_not_plain_text(self) -> None:
        """What is not HTTP gets problem details with the security headers (uvicorn sends text)."""
        with served(create_app(MonitorState())) as port:
            sock = half_open(port, "127.0.0.1", b"NOT HTTP AT ALL\r\n\r\n")
            raw = read_until_closed(sock, timeout_s=5.0)
            sock.close()
        status, headers, _body = _status_and_head(raw)
        assert status == 400
        assert headers["content-type"] == "application/problem+json"
        assert headers["x-frame-options"] == "DENY"


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    """Serving raises the soft limit, so held connections run out of time, not descriptors."""
    raise_open_file_limit()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard in {soft, resource.RLIM_INFINITY}


def _closed_with_408(sockets: list[socket.socket], within_s: float) -> int:
    """How many of ``sockets`` were answered 408 and closed within ``within_s``."""
    answers: dict[socket.socket, bytes] = dict.fromkeys(sockets, b"")
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ, sock)
        open_ = len(sockets)
        deadline = time.monotonic() + within_s
        while open_ and time.monotonic() < deadline:
            for key, _events in selector.select(timeout=0.5):
                sock = key.data
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                answers[sock] += chunk
                if not chunk:
                    selector.unregister(sock)
                    open_ -= 1
    return sum(1 for raw in answers.values() if raw.startswith(b"HTTP/1.1 408"))


@pytest.fixture(autouse=True)
def _enough_descriptors() -> None:
    raise_open_file_limit()
