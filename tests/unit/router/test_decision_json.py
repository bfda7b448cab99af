"""The decision's JSON written from fragments is the models' JSON, to the byte (issue 15).

The handler writes the decision summary of every routed copy and the chained decision
record without building their models (:mod:`hub.router.decisionjson`). Each test
builds the same objects both ways, the models' way being what the handler did before
(``DecisionSummary.trusted(...).model_dump_json()`` and :func:`hub.audit.seal_record`),
on the demo day's messages decided by the default policy and on awkward values.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import pytest

from connectors.errors import ParseFailed
from connectors.protocol import ParseContext
from connectors.registry import connector_for
from hub.audit import GENESIS, seal_record
from hub.demo.traffic import generate_day
from hub.policy import Decision, decide, load_policy
from hub.router import decisionjson
from hub.router.decisionjson import (
    DECISION_FIELDS,
    datetime_json,
    record_json,
    str_json,
    summary_json,
)
from schemas.common import Area
from schemas.decision import DecisionRecorded
from schemas.envelope import RoutingMetadata, split_envelope
from schemas.history import HistorySummary
from schemas.routed import DecisionSummary
from tests.factories import NOW, envelope

AWKWARD = [
    'Zoë\'s "case" \u2014 opened\n\ttab \\ slash \U0001f600',
    "control \x00\x01\x1f\x7f and </script>",
    ',"shared_without_consent":true',
    "",
]
TIMES = [
    NOW,
    NOW.replace(microsecond=120_000),
    NOW.replace(microsecond=7),
    datetime(2026, 6, 1, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=1))),
    datetime(2026, 3, 29, 1, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
]


@cache
def _day() -> tuple[RoutingMetadata, ...]:
    context = ParseContext(received_at=NOW, subject_key_secret=b"test" * 8)
    metas = []
    for request in generate_day(NOW.date()):
        try:
            parsed = connector_for(request.partner).parse(
                request.body, request.content_type, context
            )
        except ParseFailed:
            continue
        metas.extend(split_envelope(e)[0] for e in parsed)
    return tuple(metas)


def _history(i: int) -> HistorySummary:
    if i % 3 == 0:
        return HistorySummary()
    return HistorySummary.model_validate(
        {
            "contacts_12m": i,
            "contacts_by_partner_12m": {"police": i, "health": 1},
            "contacts_by_kind_12m": {"police.notification.domestic_abuse": i},
            "da_incidents_12m": 2,
            "low_level_3m": 1,
            "last_marac_referral_at": NOW - timedelta(days=i),
            "open_case": True,
            "open_case_area": "mash",
            "last_destinations": ["mash", "marac"],
            "last_contact_at": NOW - timedelta(hours=i),
            "linked_message_id": "00000000-0000-4000-8000-000000000001",
        }
    )


def _model_summary(decision: Decision, decided_at: datetime, history: HistorySummary) -> str:
    return DecisionSummary.trusted(
        {
            **{name: getattr(decision, name) for name in DECISION_FIELDS},
            "decided_at": decided_at,
            "history": history,
        }
    ).model_dump_json()


Case = tuple[RoutingMetadata, Decision, datetime, HistorySummary]
"""A message, its decision, when it was decided and the history summary it used."""


def _model_record(case: Case, prev: str) -> tuple[str, bytes]:
    meta, decision, decided_at, history = case
    fields: dict[str, Any] = {
        **{name: getattr(meta, name) for name in ("message_id", "partner", "kind")},
        "source_reference": meta.partner_reference,
        **{name: getattr(meta, name) for name in ("subject_key", "received_at")},
        "decided_at": decided_at,
        **{name: getattr(decision, name) for name in DECISION_FIELDS[:5]},
        "consent_status": meta.consent.status,
        "lawful_basis": meta.consent.lawful_basis,
        "shared_without_consent": decision.shared_without_consent,
        "history": history,
    }
    return seal_record(fields, prev)


def _both(
    meta: RoutingMetadata, decision: Decision, at: datetime, history: HistorySummary, prev: str
) -> None:
    at_json, history_json = datetime_json(at), history.model_dump_json()
    assert summary_json(decision, at_json, history_json) == _model_summary(decision, at, history)
    assert record_json(meta, decision, at_json, history_json, prev) == _model_record(
        (meta, decision, at, history), prev
    )


def test_the_demo_day_decided_by_the_default_policy_gives_the_models_bytes() -> None:
    policy = load_policy()
    metas = _day()
    assert len(metas) > 100
    prev = GENESIS
    kinds = set()
    for i, meta in enumerate(metas):
        history = _history(i)
        decision = decide(policy, meta, history)
        at = TIMES[i % len(TIMES)]
        _both(meta, decision, at, history, prev)
        prev, _value = _model_record((meta, decision, at, history), prev)
        kinds.add((decision.destinations, decision.shared_without_consent))
    assert len(kinds) > 5, "the day should exercise several decisions"


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_strings_are_escaped_as_the_model_does(text: str) -> None:
    meta = split_envelope(envelope(kind="police.notification.domestic_abuse"))[0]
    meta = meta.model_copy(update={"partner_reference": text or "x", "kind": meta.kind})
    decision = Decision(
        destinations=(Area.MASH, Area.MARAC),
        rules=("rule-a", "rule-b"),
        rationale=(text, f"second {text}"),
        returned_reasons=(text,) if text else (),
        shared_without_consent=bool(text),
        policy_version="a" * 64,
    )
    for at in TIMES:
        _both(meta, decision, at, _history(len(text) + 1), "b" * 64)
    assert json.loads(str_json(text)) == text


def test_record_validates_and_its_hash_chains() -> None:
    meta = split_envelope(envelope())[0]
    decision = decide(load_policy(), meta, HistorySummary())
    digest, value = record_json(
        meta, decision, datetime_json(NOW), HistorySummary().model_dump_json(), GENESIS
    )
    record = DecisionRecorded.model_validate_json(value)
    assert record.hash == digest
    assert record.prev_hash == GENESIS
    assert record.decided_at == NOW


def test_a_fragment_is_never_served_for_another_decision() -> None:
    meta = split_envelope(envelope())[0]
    first = decide(load_policy(), meta, HistorySummary())
    other = dataclasses.replace(first, rules=("something-else",), rationale=("changed",))
    at, history = datetime_json(NOW), HistorySummary().model_dump_json()
    assert summary_json(first, at, history) != summary_json(other, at, history)
    assert summary_json(other, at, history) == _model_summary(other, NOW, HistorySummary())


def test_the_fragment_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decisionjson, "FRAGMENT_LIMIT", 3)
    meta = split_envelope(envelope())[0]
    base = decide(load_policy(), meta, HistorySummary())
    at, history = datetime_json(NOW), HistorySummary().model_dump_json()
    decisions = [dataclasses.replace(base, rules=(f"r{i}",)) for i in range(10)]
    for d in decisions:
        summary_json(d, at, history)
        assert len(decisionjson._FRAGMENTS) <= 3
    assert summary_json(decisions[0], at, history) == _model_summary(
        decisions[0], NOW, HistorySummary()
    )


def test_the_decision_fields_are_the_summarys_own_in_its_order() -> None:
    assert (*DECISION_FIELDS, "decided_at", "history") == tuple(DecisionSummary.model_fields)


def test_utc_is_written_as_the_model_writes_it() -> None:
    assert datetime_json(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == '"2026-01-02T03:04:05Z"'
