"""The ledger's index of inbound records: its own writes are not parsed twice."""

from __future__ import annotations

from hub.ingest.ledger import LedgerIndex, _known_prefix_id
from hub.security.envelope import Sealer
from tests.factories import envelope


def test_records_as_written_name_their_id_up_front() -> None:
    env = envelope()
    record = Sealer(None, None, 6).encode(env)
    assert _known_prefix_id(record.value) == env.message_id
    assert _known_prefix_id(b'{"metadata":{"partner":"police"}}') is None
    assert (
        _known_prefix_id(b'{"metadata":{"message_id":"not-a-uuid-but-36-characters-long!"}}')
        is None
    )


def test_an_accepted_message_is_skipped_and_an_unknown_one_indexed() -> None:
    index = LedgerIndex()
    mine, other = envelope(), envelope()
    index.accept([mine])
    before = index.status(mine.partner, mine.message_id)
    sealer = Sealer(None, None, 6)
    for env in (mine, other):
        record = sealer.encode(env)
        index.read_inbound(record.value, record.topic)
    assert index.status(mine.partner, mine.message_id) is before
    found = index.status(other.partner, other.message_id)
    assert found is not None
    assert found.partner_reference == other.source.partner_reference
    assert len(index) == 2
