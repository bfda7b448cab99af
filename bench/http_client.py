"""A minimal HTTP/1.1 keep-alive client for the closed-loop ingest bench.

httpx costs about as much CPU per request as the app under test does, and on a 2-core
machine the load generator then caps the figures (measured: at 64 clients httpx used a
whole core while the app used 0.4). This client writes each request in one call and
reads the status line, the headers and a ``Content-Length`` body, nothing more; it is
enough for the connectors app's answers (uvicorn always sends ``Content-Length`` there).
"""

from __future__ import annotations

import asyncio
from typing import Self


class RawConnection:
    """One keep-alive connection; one request at a time."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._host = host.encode()

    @classmethod
    async def open(cls, host: str, port: int) -> Self:
        """Connect to ``host:port``."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, host)

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """POST ``body``; return the status and the response body."""
        head = [f"POST {path} HTTP/1.1", f"Host: {self._host.decode()}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self._writer.drain()
        response = await self._reader.readuntil(b"\r\n\r\n")
        status = int(response[9:12])
        length = 0
        for line in response.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        """Close the connection."""
        self._writer.close()
        await self._writer.wait_closed()
