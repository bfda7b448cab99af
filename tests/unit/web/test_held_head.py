"""The receipt protocol writes a response's head with its body: one socket write, same bytes."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from hub.web.receipt import _HeldHead
from tests.security.servekit import served


@dataclass
class FakeTransport:
    writes: list[bytes] = field(default_factory=list)
    closed: bool = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return f"extra:{name}"


@dataclass
class FakeCycle:
    response_started: bool = False


def _held(*, started: bool) -> tuple[_HeldHead, FakeTransport]:
    """A held-head transport over a fake, its cycle's response started or not."""
    transport = FakeTransport()
    return _HeldHead(transport, FakeCycle(started)), transport  # type: ignore[arg-type]


class TestHeldHead:
    """The head waits for the first body write; nothing else is held."""

    def test_head_and_body_leave_in_one_write(self) -> None:
        held, transport = _held(started=True)
        held.write(b"HTTP/1.1 202 Accepted\r\n\r\n")
        assert transport.writes == []
        held.write(b"{}")
        assert transport.writes == [b"HTTP/1.1 202 Accepted\r\n\r\n{}"]

    def test_later_chunks_go_straight_through(self) -> None:
        held, transport = _held(started=True)
        for part in (b"head", b"one", b"two", b""):
            held.write(part)
        assert transport.writes == [b"headone", b"two", b""]

    def test_a_100_continue_is_not_held(self) -> None:
        held, transport = _held(started=False)
        held.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]

    def test_a_close_sends_the_held_head_first(self) -> None:
        held, transport = _held(started=True)
        held.write(b"head")
        held.close()
        assert transport.writes == [b"head"]
        assert transport.closed
        assert held.is_closing()

    def test_other_attributes_are_the_transports(self) -> None:
        held, _transport = _held(started=False)
        assert held.get_extra_info("peername") == "extra:peername"


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/small")
    async def small() -> Response:
        return JSONResponse({"ok": True}, status_code=202)

    @app.get("/stream")
    async def stream() -> Response:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b"alpha", b"beta", b"gamma"):
                yield part

        return StreamingResponse(parts(), media_type="text/plain")

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="application/octet-stream")

    return app


def _exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` (its last one says ``Connection: close``); everything read back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


class TestServed:
    """Served for real, every kind of response arrives whole and in order."""

    def test_small_streamed_head_and_continued_responses(self) -> None:
        with served(_app()) as port:
            small = _exchange(port, b"GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert small.startswith(b"HTTP/1.1 202 Accepted\r\n")
            assert small.endswith(b'\r\n\r\n{"ok":true}')
            streamed = _exchange(
                port, b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            assert b"transfer-encoding: chunked\r\n" in streamed
            assert streamed.endswith(b"\r\n\r\n5\r\nalpha\r\n4\r\nbeta\r\n5\r\ngamma\r\n0\r\n\r\n")
            head = _exchange(port, b"HEAD /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
            assert head.endswith(b"\r\n\r\n")
            continued = _exchange(
                port,
                b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
                b"Content-Length: 5\r\n\r\nhello",
            )
            assert continued.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
            assert continued.endswith(b"\r\n\r\nhello")

    def test_kept_alive_requests_are_answered_in_order(self) -> None:
        one = b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n"
        with served(_app()) as port:
            last = (
                b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\n"
            )
            both = _exchange(port, one + last + b"abc")
        first, _, second = both.partition(b'{"ok":true}')
        assert first.startswith(b"HTTP/1.1 202 Accepted\r\n")
        assert second.startswith(b"HTTP/1.1 200 OK\r\n")
        assert second.endswith(b"\r\n\r\nabc")
