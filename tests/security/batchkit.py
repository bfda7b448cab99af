"""Police traffic for the batch-upload tests: a 20 MiB CSV batch and single notifications."""

from __future__ import annotations

import asyncio
import json

from hub.demo.bulk import police_csv_batch
from hub.settings import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "docs" / "formats" / "examples" / "police"
MIB = 1024 * 1024


def police_csv(size: int = 20 * MIB, run: str = "B") -> tuple[bytes, int]:
    """A valid police CSV batch of just under ``size`` bytes; the bytes and its row groups.

    The example batch's rows, repeated with a reference of their own for each copy
    (rows sharing a reference are one notification).
    """
    batch = police_csv_batch(size, run)
    return batch.body, batch.copies


def police_single(index: int, run: str = "S") -> bytes:
    """A valid single police notification with a reference of its own."""
    document = json.loads((EXAMPLES / "notification-domestic-abuse.json").read_text())
    document["reference"] = f"47/2026/{run}{index:07d}"
    return json.dumps(document).encode()


class Connection:
    """A minimal HTTP/1.1 keep-alive client, one request at a time.

    Far lighter than httpx, so the test loads the server rather than itself; enough
    for the ingest's answers (always with a Content-Length).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        head = [f"POST {path} HTTP/1.1", "Host: hub"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self._writer.drain()
        response = await self._reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in response.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(response[9:12]), await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()
