"""`hub dlq` on the real broker: a dead letter replayed after a fix, once, and audited."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hub.errors import KafkaError
from hub.router.deadletters import (
    DeadLettersListing,
    read_dead_letters,
    read_replays,
    replay,
)
from hub.settings import KafkaSettings
from schemas.common import RiskLevel
from schemas.decision import DecisionRecorded
from tests.factories import NOW, envelope, risk
from tests.integration.routerkit import hub_cli, hub_for, produce, read_topic, running_router


class TestReplay:
    async def test_a_fixed_dead_letter_is_routed_once_and_never_replayed_twice(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """A router without the partner's key dead-letters; after the fix a replay routes it.

        The replay is the original record (key, value, headers, partition); a second
        replay is refused; a resend of the routed message, dead-lettered as a duplicate,
        is refused too; `hub dlq list --json` and `show` never print the content.
        """
        partner_side = hub_for(hub_topics, tmp_path / "right")
        misconfigured = hub_for(hub_topics, tmp_path / "wrong")  # another keyring
        message = envelope(risk=risk(RiskLevel.HIGH))
        async with running_router(misconfigured):
            await produce(partner_side, [message])
            await read_topic(hub_topics, "hub.dlq", expected=1)
        (letter,) = await read_dead_letters(hub_topics)
        assert letter.error_class == "SignatureError"

        listed = await asyncio.to_thread(hub_cli, hub_topics, "dlq", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        views = DeadLettersListing.model_validate(json.loads(listed.stdout)).dead_letters
        assert [(v.partition, v.offset, v.message_id) for v in views] == [
            (0, letter.offset, message.message_id)
        ]
        assert letter.value.decode() not in listed.stdout
        shown = await asyncio.to_thread(hub_cli, hub_topics, "dlq", "show", letter.address)
        assert shown.returncode == 0, shown.stderr
        assert letter.value.decode() not in shown.stdout
        assert "SignatureError" in shown.stdout

        async with running_router(partner_side):  # the fix: the right keys
            (outcome,) = await replay(hub_topics, [letter], now=NOW)
            assert outcome.replayed is not None, outcome.refused
            decisions = await read_topic(hub_topics, "hub.decisions", expected=1)
            inbound = await read_topic(hub_topics, "partner.police.inbound", expected=2)
            again = await asyncio.to_thread(hub_cli, hub_topics, "dlq", "replay", letter.address)
            await produce(partner_side, [message])  # the partner resends it
            dlq = await read_topic(hub_topics, "hub.dlq", expected=2)
        assert [DecisionRecorded.model_validate_json(r.value).message_id for r in decisions] == [
            message.message_id
        ]
        original, copy = inbound[0], inbound[1]
        assert (copy.partition, copy.key, copy.value, copy.headers) == (
            original.partition,
            original.key,
            original.value,
            original.headers,
        )
        assert again.returncode == 1
        assert "replayed already" in again.stdout

        replays = await read_replays(hub_topics)
        audit = replays[letter.partition, letter.offset]
        assert (audit.topic, audit.offset, audit.message_id) == (
            "partner.police.inbound",
            copy.offset,
            message.message_id,
        )
        assert audit.error_class == "SignatureError"

        duplicate = next(
            d for d in await read_dead_letters(hub_topics) if d.offset != letter.offset
        )
        assert len(dlq) == 2
        assert duplicate.error_class == "DuplicateMessageError"
        (refused,) = await replay(hub_topics, [duplicate], now=NOW)
        assert refused.replayed is None
        assert "routed already" in (refused.refused or "")

    async def test_two_replayers_at_once_replay_it_once(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Two operators replaying the same dead letter: one replay, one marker."""
        partner_side = hub_for(hub_topics, tmp_path / "right")
        misconfigured = hub_for(hub_topics, tmp_path / "wrong")
        async with running_router(misconfigured):
            await produce(partner_side, [envelope()])
            await read_topic(hub_topics, "hub.dlq", expected=1)
        letters = await read_dead_letters(hub_topics)
        results = await asyncio.gather(
            replay(hub_topics, letters, now=NOW),
            replay(hub_topics, letters, now=NOW),
            return_exceptions=True,
        )
        replayed = [o for r in results if isinstance(r, list) for o in r if o.replayed is not None]
        for r in results:
            assert isinstance(r, list | KafkaError), r
        assert len(replayed) == 1
        assert len(await read_replays(hub_topics)) == 1
        inbound = await read_topic(hub_topics, "partner.police.inbound", expected=2)
        assert len(inbound) == 2
