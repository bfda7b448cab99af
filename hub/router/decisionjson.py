"""The decision's JSON on the hot path: the decision record and summary from fragments.

A routed copy carries the :class:`~schemas.routed.DecisionSummary` and every message
writes one :class:`~schemas.decision.DecisionRecorded`. Building and serialising those
models per message cost more than anything else the handler does with the decision
(pydantic's serialiser reads every enum's ``value`` through Python). The bytes are
written here instead from parts made once:

- the decision's own fields (``destinations`` to ``policy_version``), serialised by the
  model once per :class:`~hub.policy.Decision` (decisions are remembered per fact
  values, so there are few of them);
- the history summary, serialised by its model once per message, not twice;
- dates and free-text strings by pydantic's own serialiser, one value at a time.

The result is the model's bytes exactly: ``tests/unit/router/test_decision_json.py``
compares both ways on the bench traffic and on awkward strings and times.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import TypeAdapter

from hub.policy import Decision
from schemas.envelope import RoutingMetadata
from schemas.history import HistorySummary
from schemas.routed import DecisionSummary

FRAGMENT_LIMIT = 65_536
"""Decisions whose fragment is kept; the memory is cleared when it is full."""

DECISION_FIELDS = (
    "destinations",
    "rules",
    "rationale",
    "returned_reasons",
    "policy_version",
    "shared_without_consent",
)
"""The decision's own fields in a summary, in the model's order (then time and history)."""
_SHARED = ',"shared_without_consent":'
_HASH_MEMBER = ',"hash":"'
_dump_datetime = TypeAdapter(datetime).serializer.to_json
_dump_str = TypeAdapter(str).serializer.to_json


def datetime_json(value: datetime) -> str:
    """A date-time as the contract models write it (``Z`` for UTC, for example)."""
    return _dump_datetime(value).decode()


def str_json(value: str) -> str:
    """A string as the contract models write it (UTF-8, pydantic's escaping)."""
    return _dump_str(value).decode()


@dataclass(frozen=True)
class _Fragment:
    decision: Decision
    head: str
    """``"destinations":...`` to ``"policy_version":"..."``, as the model writes them."""
    shared: str
    """``true`` or ``false``."""


_FRAGMENTS: dict[int, _Fragment] = {}


def _fragment(decision: Decision) -> _Fragment:
    found = _FRAGMENTS.get(id(decision))
    if found is not None and found.decision is decision:
        return found
    text = DecisionSummary.trusted(
        {
            **{name: getattr(decision, name) for name in DECISION_FIELDS},
            "decided_at": datetime(2000, 1, 1, tzinfo=UTC),
            "history": HistorySummary(),
        }
    ).model_dump_json()
    # A JSON string never holds `,"` unescaped, so the first match is the member itself.
    head = text[1 : text.index(_SHARED)]
    found = _Fragment(decision, head, "true" if decision.shared_without_consent else "false")
    if len(_FRAGMENTS) >= FRAGMENT_LIMIT:
        _FRAGMENTS.clear()
    # The entry holds the decision, so its id cannot be reused while it is here.
    _FRAGMENTS[id(decision)] = found
    return found


def summary_json(decision: Decision, decided_at: str, history: str) -> str:
    """The ``DecisionSummary`` JSON; ``decided_at`` and ``history`` are JSON already."""
    part = _fragment(decision)
    return f'{{{part.head}{_SHARED}{part.shared},"decided_at":{decided_at},"history":{history}}}'


def record_json(
    meta: RoutingMetadata, decision: Decision, decided_at: str, history: str, prev_hash: str
) -> tuple[str, bytes]:
    """The chained ``DecisionRecorded`` after ``prev_hash``: (its hash, its bytes).

    What :func:`hub.audit.seal_record` makes of the same fields (``decided_at`` and
    ``history`` are JSON already): the hash covers the record's bytes without ``hash``.
    """
    part = _fragment(decision)
    consent = meta.consent
    body = (
        f'{{"message_id":"{meta.message_id}","partner":"{meta.partner.value}",'
        f'"source_reference":{str_json(meta.partner_reference)},'
        f'"kind":{str_json(meta.kind)},"subject_key":{str_json(meta.subject_key)},'
        f'"received_at":{datetime_json(meta.received_at)},"decided_at":{decided_at},'
        f'{part.head},"consent_status":"{consent.status.value}",'
        f'"lawful_basis":"{consent.lawful_basis.value}"{_SHARED}{part.shared},'
        f'"history":{history},"prev_hash":"{prev_hash}"}}'
    ).encode()
    digest = hashlib.sha256(body).hexdigest()
    return digest, body[:-1] + f'{_HASH_MEMBER}{digest}"}}'.encode()
