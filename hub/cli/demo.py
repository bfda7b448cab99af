"""``hub demo``: the whole hub on the local broker (grows as the hub grows)."""

from __future__ import annotations

import asyncio

from rich.console import Console

from hub.cli._common import current_hub
from hub.topics import apply_topics, load_topics_file


def demo() -> None:
    """Start the local broker, apply the topics and report where everything stands."""
    hub = current_hub()
    console = Console()
    status = hub.local_broker().start()
    console.print(f"broker {status.describe()}")
    specs = load_topics_file(hub.settings.topics.file, hub.settings.topics.profile)
    changes = asyncio.run(apply_topics(specs, hub.settings.kafka))
    created = sum(c.action == "created" for c in changes)
    console.print(f"topics: {len(changes)} declared, {created} created, all applied")
