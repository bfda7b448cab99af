"""Running a long-lived service until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any


def run_until_signalled(service: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run ``service(stop)``; SIGTERM/SIGINT set ``stop`` so it can finish cleanly."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await service(stop)

    asyncio.run(main())
