"""The hub's AsyncAPI 3.0 document: every topic, what travels on it, and who uses it.

:func:`asyncapi_document` builds the document from the resolved topics file
(``deploy/topics.yaml``) and the contract models' JSON Schemas
(:func:`schemas.export.shared_schemas`); ``hub schemas export`` writes it to
``docs/asyncapi.yaml`` and CI checks it for drift. Each topic is one channel whose
address is the topic's logical name; each component (connectors, router, team
consumers, monitor, audit) has a send or receive operation per topic it uses.

It is built as plain data rather than with FastStream's generator
(``faststream.specification.AsyncAPI``, 0.7.8), because for this hub that generator
gives a wrong document that post-processing could only paper over:

* it files one channel per subscriber or publisher (``<topic>:<Handler>``,
  ``<topic>:Publisher``), so a topic that one component writes and another reads
  becomes two channels with one address; titling both after the topic makes the
  second overwrite the first, operation included;
* its message model has no headers (a TODO in 0.7.8) and it writes no Kafka message
  binding, so neither the MAC and signature headers, the dead-letter context headers
  nor the subject key could be described;
* it gives every message a ``correlationId`` in a ``correlation_id`` header the hub
  never sets;
* one document describes one application (one broker's endpoints), not the
  connectors, router, teams and monitor together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import TypeAdapter

from hub.broker.topics import TopicSpec
from hub.errors import TopicsFileError
from hub.router.deadletters import DeadLetterReplayed
from hub.router.handler import CHAIN_HEAD_KEY
from hub.security.mac import KEY_ID_HEADER, MAC_HEADER
from hub.security.signing import SIGNATURE_HEADER
from hub.topology import (
    AUDIT_CHECKPOINTS,
    CHECK_RESPONSES,
    CHECKS,
    DECISIONS,
    DLQ,
    DLQ_ERROR_CLASS_HEADER,
    DLQ_ERROR_TEXT_HEADER,
    DLQ_OFFSET_HEADER,
    DLQ_PARTITION_HEADER,
    DLQ_REPLAYS,
    DLQ_TOPIC_HEADER,
    HISTORY,
    HOUSEHOLD_HISTORY,
    INBOUND_PARTNER,
    OUTCOMES,
    ROUTED_IDS,
    inbound_topic,
    route_topic,
)
from schemas.checks import CheckPartner
from schemas.common import SCHEMA_VERSION, Area, Partner
from schemas.envelope import SubjectKey
from schemas.export import shared_schemas

DOCUMENT_PATH = "docs/asyncapi.yaml"
"""Where the document lives, relative to the project root."""

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.4.0"

DLQ_HEADERS: dict[str, str] = {
    DLQ_TOPIC_HEADER: "Logical name of the topic the record came from (no deployment prefix).",
    DLQ_PARTITION_HEADER: "Partition of the record on that topic.",
    DLQ_OFFSET_HEADER: "Offset of the record in that partition.",
    DLQ_ERROR_CLASS_HEADER: "Class name of the error, e.g. SignatureError or SchemaViolationError.",
    DLQ_ERROR_TEXT_HEADER: "The error's one-line reason, at most 1000 characters.",
}
"""The context headers of every dead letter (:func:`hub.router.handler.dead_letter`)."""

_SCHEMAS = "#/components/schemas/"
_MESSAGES = "#/components/messages/"
_HEX64 = "^[0-9a-f]{64}$"

Action = Literal["send", "receive"]


@dataclass(frozen=True)
class Operation:
    """One component sending to or receiving from one topic."""

    component: str
    action: Action
    topic: str
    summary: str

    @property
    def key(self) -> str:
        """The operation's id in the document."""
        return f"{self.component}.{self.action}.{self.topic}"


def operations() -> list[Operation]:
    """Who writes and reads each topic (DESIGN.md sections 3 and 4)."""
    return [
        *_connector_operations(),
        *_router_operations(),
        *_team_operations(),
        *_check_operations(),
        *_readers(),
    ]


def _connector_operations() -> list[Operation]:
    return [
        Operation(
            f"connector-{p.value}",
            "send",
            inbound_topic(p),
            f"The {p.value} connector writes each accepted message, sealed, with its MAC.",
        )
        for p in Partner
    ]


def _router_operations() -> list[Operation]:
    inbound = (
        "The router verifies, decides and routes each message once; a record it cannot "
        "read, authenticate or route, or a replay, goes to hub.dlq."
    )
    outcomes = (
        "An outcome authenticated with a key of its own area opens or closes a case in "
        "history, once; any other goes to hub.dlq."
    )
    restore = "A router task restores its state from it when assigned."
    return [
        *(Operation("router", "receive", inbound_topic(p), inbound) for p in Partner),
        Operation("router", "receive", OUTCOMES, outcomes),
        Operation("router", "receive", HISTORY, restore),
        Operation("router", "receive", ROUTED_IDS, restore),
        Operation(
            "router", "receive", HOUSEHOLD_HISTORY, "Every router reads it whole: a global table."
        ),
        Operation("router", "receive", AUDIT_CHECKPOINTS, restore),
        *(
            Operation(
                "router",
                "send",
                route_topic(a),
                f"One copy for {a.value}, sealed for it, with its MAC.",
            )
            for a in Area
        ),
        Operation("router", "send", DECISIONS, "Exactly one decision per inbound message."),
        Operation("router", "send", DLQ, "Each record refused: unreadable, forged or replayed."),
        Operation("router", "send", HISTORY, "History changes and the audit chain heads."),
        Operation(
            "router", "send", HOUSEHOLD_HISTORY, "Each contact routed, and again with outcomes."
        ),
        Operation("router", "send", ROUTED_IDS, "The id of each message routed, outcome applied."),
        Operation(
            "router", "send", AUDIT_CHECKPOINTS, "A signed checkpoint of each chain, each minute."
        ),
    ]


def _team_operations() -> list[Operation]:
    ops = []
    for area in Area:
        team = f"team-{area.value}"
        ops += [
            Operation(team, "receive", route_topic(area), f"The {area.value} team's queue."),
            Operation(
                team, "send", OUTCOMES, "Each decision the team records, with rationale and MAC."
            ),
            Operation(team, "send", DLQ, "A note of each routed copy it refuses (no content)."),
        ]
    return ops


def _check_operations() -> list[Operation]:
    return [
        Operation(
            "team-mash", "send", CHECKS, "Each check asked, one per partner, in a transaction."
        ),
        Operation("team-mash", "receive", CHECKS, "What it asked, kept again after a restart."),
        Operation("team-mash", "receive", CHECK_RESPONSES, "Answers, attached to the contact."),
        Operation("checks-index", "receive", CHECKS, "The partner ingest's index of open checks."),
        Operation("checks-index", "receive", CHECK_RESPONSES, "Which checks were answered."),
        *(
            Operation(
                f"connector-{p.value}",
                "send",
                CHECK_RESPONSES,
                f"{p.value}'s answers, sealed for the asking area, with their MAC.",
            )
            for p in CheckPartner
        ),
        Operation("monitor", "receive", CHECKS, "Open and overdue checks."),
        Operation("monitor", "receive", CHECK_RESPONSES, "Partners' response times."),
    ]


def _readers() -> list[Operation]:
    return [
        Operation("monitor", "receive", DECISIONS, "Volumes, decisions and the scorecard."),
        Operation("monitor", "receive", OUTCOMES, "Time to decision and SLA breaches."),
        Operation("monitor", "receive", DLQ, "Dead letters per error class; trust failures page."),
        Operation("operator", "send", DLQ_REPLAYS, "`hub dlq replay` marks each replay."),
        Operation("audit", "receive", DECISIONS, "`hub audit` verifies the hash chains."),
        Operation(
            "audit",
            "receive",
            AUDIT_CHECKPOINTS,
            "`hub audit verify` checks them against the chains.",
        ),
    ]


def asyncapi_document(topics: Sequence[TopicSpec]) -> dict[str, Any]:
    """The AsyncAPI document for ``topics`` (the resolved topics file)."""
    channels = {spec.name: _channel(spec) for spec in topics}
    ops: dict[str, Any] = {}
    for op in operations():
        channel = channels.get(op.topic)
        if channel is None:
            raise TopicsFileError(f"{op.key}: topic {op.topic} is not in the topics file")
        ops[op.key] = {
            "action": op.action,
            "channel": {"$ref": f"#/channels/{op.topic}"},
            "summary": op.summary,
            "messages": [
                {"$ref": f"#/channels/{op.topic}/messages/{name}"} for name in channel["messages"]
            ],
            "tags": [{"name": op.component}],
        }
    refs, definitions = shared_schemas(_SCHEMAS + "{model}")
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Safeguarding message hub",
            "version": SCHEMA_VERSION,
            "description": _INFO,
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": ops,
        "components": {
            "messages": _messages(refs),
            "schemas": {"SubjectKey": _subject_key_schema(), **definitions},
        },
    }


def asyncapi_yaml(topics: Sequence[TopicSpec]) -> str:
    """The document as committed: YAML in a stable order, with a do-not-edit header."""
    body = yaml.dump(
        asyncapi_document(topics),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return _HEADER + body


# ---------------------------------------------------------------------------- channels


def _channel(spec: TopicSpec) -> dict[str, Any]:
    contract = _topic_contract(spec.name)
    return {
        "address": spec.name,
        "description": contract.description,
        "messages": {name: {"$ref": _MESSAGES + name} for name in contract.messages},
        "bindings": {
            "kafka": {
                "partitions": spec.partitions,
                "topicConfiguration": {
                    "cleanup.policy": [spec.configs["cleanup.policy"]],
                    "retention.ms": int(spec.configs["retention.ms"]),
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


@dataclass(frozen=True)
class _TopicContract:
    description: str
    messages: tuple[str, ...]


_INBOUND = _TopicContract(
    "Messages from the {} partner, written only by its connector (one topic per "
    "partner, so ACLs can fence partners), each with a MAC the router checks.",
    ("MessageReceived",),
)
_ROUTED = _TopicContract(
    "Messages routed to the {} service area, written only by the router and read only "
    "by that area's team consumer; their content is sealed for that area and each "
    "copy carries a MAC the team checks before queueing it.",
    ("MessageRouted",),
)
_HUB_TOPICS = {
    DECISIONS: _TopicContract(
        "The audit log: exactly one decision record per inbound message, including "
        "decisions not to share, hash-chained per partition.",
        ("DecisionRecorded",),
    ),
    DLQ: _TopicContract(
        "Records that could not be read, authenticated or routed, and replays, with "
        "context headers; also team consumers' notes of routed copies they refused.",
        ("DeadLetter",),
    ),
    DLQ_REPLAYS: _TopicContract(
        "One record per dead letter replayed by `hub dlq replay` (who, when, where to), "
        "written in the replay's transaction: the marker that refuses a second replay.",
        ("DeadLetterReplayed",),
    ),
    OUTCOMES: _TopicContract(
        "Each team decision, with its rationale and the MAC of the team's area key.",
        ("OutcomeRecorded",),
    ),
    HISTORY: _TopicContract(
        "Compacted changelog of the router's per-subject history store, and the audit "
        "chain head of each partition. Internal to the router.",
        ("SubjectState", "AuditChainHead"),
    ),
    HOUSEHOLD_HISTORY: _TopicContract(
        "Compacted (and deleted after 400 days): one record per recent contact, keyed by "
        "message id, rewritten when a team's outcome arrives. Every router process reads it "
        "whole as its household view. Internal to the router.",
        ("ContactRecorded",),
    ),
    ROUTED_IDS: _TopicContract(
        "Compacted record of every message id the router routed and every outcome id "
        "it applied, never trimmed: a replay is refused however old. Internal to the "
        "router.",
        ("RoutedId",),
    ),
    AUDIT_CHECKPOINTS: _TopicContract(
        "The router's signed checkpoints of each partition's decision chain head (Ed25519, "
        "signing-router), at least one a minute while a chain grows; `hub audit verify` "
        "checks the chains against them.",
        ("ChainCheckpointed",),
    ),
    CHECKS: _TopicContract(
        "Agency checks: the MASH asks a partner what it knows about a child and household, "
        "with an urgency and a working-time deadline (DESIGN.md section 17). The question "
        "and the people are sealed for the asked partner only.",
        ("CheckRequested",),
    ),
    CHECK_RESPONSES: _TopicContract(
        "Partners' answers to agency checks, sealed for the asking area only.",
        ("CheckAnswered",),
    ),
}


def _topic_contract(topic: str) -> _TopicContract:
    """What travels on ``topic``; a topic without a contract is refused."""
    partner = INBOUND_PARTNER.get(topic)
    if partner is not None:
        return _TopicContract(_INBOUND.description.format(partner.value), _INBOUND.messages)
    areas = {route_topic(a): a for a in Area}
    if topic in areas:
        return _TopicContract(_ROUTED.description.format(areas[topic].value), _ROUTED.messages)
    if topic not in _HUB_TOPICS:
        raise TopicsFileError(
            f"topic {topic} has no contract: describe it in hub/contracts/asyncapi.py or remove it"
        )
    return _HUB_TOPICS[topic]


# ---------------------------------------------------------------------------- messages


def _messages(refs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    messages = (
        _message(
            "MessageReceived",
            "A partner message: routing metadata in clear, sensitive content sealed.",
            refs["message-received"],
            headers=_mac_headers("inbound-mac-<partner>", "the partner's connector"),
        ),
        _message(
            "MessageRouted",
            "One routed copy of an inbound message, for one area, with its SLA deadline.",
            refs["message-routed"],
            description="The sealed payload holds what payload_type says: the message's "
            "SensitiveContent (payload_type envelope; the team joins it with the metadata "
            "into an Envelope) or one EncompassNotice (payload_type encompass_notice). "
            "A copy is in the partition number of the inbound record it came from.",
            headers=_mac_headers("route-mac-<area>", "the router"),
        ),
        _message(
            "CheckRequested",
            "One partner asked: who asked, when, the urgency and the deadline.",
            refs["check-requested"],
            description="The sealed part is a CheckQuestion, for recipient partner:<partner> "
            "under its check-<partner> key, with the check id as associated data.",
            headers=_mac_headers("check-mac-<partner>", "the asking team"),
        ),
        _message(
            "CheckAnswered",
            "A partner's answer to one check, with when it was given.",
            refs["check-answered"],
            description="The sealed part is an AnswerCheck, for recipient area:<area> under "
            "the partner's check-<partner> key. The first answer of a check counts.",
            headers=_mac_headers("check-mac-<partner>", "the partner's ingest"),
        ),
        _message(
            "DecisionRecorded",
            "Where one inbound message went, why, and under which policy version.",
            refs["decision-recorded"],
        ),
        _message(
            "OutcomeRecorded",
            "What a team decided about a routed message, and why.",
            refs["outcome-recorded"],
            description="Written to the partition number its routed copy came from, which "
            "is the router task holding the subject's history.",
            headers=_outcome_headers(),
        ),
        _message(
            "DeadLetter",
            "The source record's value, byte for byte, with the reason it was rejected.",
            {
                "description": "The source record's value, unchanged; not necessarily JSON. "
                "Empty in a team consumer's note of a refused routed copy: the copy stays "
                "on its route topic, at the position the headers name."
            },
            key={
                "type": ["string", "null"],
                "description": "The source record's key (a subject key), unchanged; none in "
                "a team consumer's note.",
            },
            headers=_dlq_headers(),
            content_type="application/octet-stream",
        ),
        _message(
            "DeadLetterReplayed",
            "`hub dlq replay` wrote a dead letter back: the replay marker and its audit.",
            DeadLetterReplayed.model_json_schema(),
            description="Written in the replay's transaction; a dead letter with a record "
            "here is never replayed again.",
            key={
                "type": "string",
                "pattern": "^[0-9]+:[0-9]+$",
                "description": "The dead letter's partition:offset on hub.dlq.",
            },
        ),
        _message(
            "SubjectState",
            "Everything the router keeps about one subject (hub.router.history.SubjectState).",
            _SUBJECT_STATE,
        ),
        _message(
            "ContactRecorded",
            "One recent contact, with the teams' outcomes (hub.router.history.Contact).",
            _CONTACT,
            key={"type": "string", "format": "uuid", "description": "The message id."},
        ),
        _message(
            "AuditChainHead",
            "Where the decision chain of this partition stands (hub.audit.ChainHead).",
            _CHAIN_HEAD,
            key={"type": "string", "const": CHAIN_HEAD_KEY.decode()},
        ),
        _message(
            "RoutedId",
            "A message id the router routed, or an outcome id it applied.",
            _ROUTED_ID,
            key={
                "type": "string",
                "description": "16 bytes: the message id (UUID) in binary; or 17: the byte "
                "'o' and the outcome id in binary.",
            },
        ),
        _message(
            "ChainCheckpointed",
            "The router's signed statement of how far one partition's decision chain reached.",
            refs["chain-checkpointed"],
            key={"type": "string", "pattern": "^[0-9]+$", "description": "The partition."},
            headers=_checkpoint_headers(),
        ),
    )
    return {message["name"]: message for message in messages}


def _message(
    name: str,
    summary: str,
    payload: dict[str, Any],
    *,
    key: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
    content_type: str = "application/json",
    description: str | None = None,
) -> dict[str, Any]:
    """One message of the document; its record key is a subject key unless ``key`` says."""
    message: dict[str, Any] = {"name": name, "title": name, "summary": summary}
    if description is not None:
        message["description"] = description
    message["contentType"] = content_type
    if headers is not None:
        message["headers"] = headers
    message["payload"] = payload
    if key is None:
        key = {"$ref": _SCHEMAS + "SubjectKey"}
    message["bindings"] = {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING_VERSION}}
    return message


def _mac_headers(key_name: str, writer: str) -> dict[str, Any]:
    return _headers(_mac_properties(key_name, writer), required=(KEY_ID_HEADER, MAC_HEADER))


def _mac_properties(key_name: str, writer: str) -> dict[str, Any]:
    return {
        KEY_ID_HEADER: _key_id(f"Id of the {key_name} key {writer} used (keys rotate)."),
        MAC_HEADER: {
            "type": "string",
            "description": "32 raw bytes (not text): HMAC-SHA256 over the link's context, "
            "the key id, the logical topic, the partition, the record key and the value "
            "(hub.security.mac).",
        },
    }


def _key_id(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "description": description}


def _outcome_headers() -> dict[str, Any]:
    properties = _mac_properties("outcome-mac-<area>", "the area's team")
    properties["hub.area"] = {"type": "string", "description": "The outcome's area."}
    properties["hub.child-index"] = {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "Which child of an Encompass message the outcome is about (else 0).",
    }
    return _headers(properties, required=(KEY_ID_HEADER, MAC_HEADER))


def _checkpoint_headers() -> dict[str, Any]:
    return _headers(
        {
            KEY_ID_HEADER: _key_id("Id of the signing-router key that signed it."),
            SIGNATURE_HEADER: {
                "type": "string",
                "description": "64 raw bytes (not text): the Ed25519 signature over "
                "'safeguarding-hub/audit-checkpoint/v1', a zero byte and the value.",
            },
        },
        required=(KEY_ID_HEADER, SIGNATURE_HEADER),
    )


def _dlq_headers() -> dict[str, Any]:
    properties: dict[str, Any] = {
        name: {"type": "string", "description": text} for name, text in DLQ_HEADERS.items()
    }
    properties[DLQ_PARTITION_HEADER]["pattern"] = "^[0-9]+$"
    properties[DLQ_OFFSET_HEADER]["pattern"] = "^[0-9]+$"
    properties[DLQ_ERROR_TEXT_HEADER]["maxLength"] = 1000
    headers = _headers(properties, required=tuple(DLQ_HEADERS))
    headers["description"] = "The source record's own headers follow the context headers."
    return headers


def _headers(properties: dict[str, Any], *, required: Iterable[str]) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


def _subject_key_schema() -> dict[str, Any]:
    return {**TypeAdapter(SubjectKey).json_schema(), "title": "SubjectKey"}


_CONTACT_PROPERTIES: dict[str, Any] = {
    "message_id": {"type": "string", "format": "uuid"},
    "occurred_at": {"type": "string", "format": "date-time"},
    "kind": {"type": "string"},
    "partner": {"type": "string"},
    "level": {"type": "string"},
    "destinations": {"type": "array", "items": {"type": "string"}},
    "received_at": {"type": "string", "format": "date-time"},
    "people": {
        "type": "array",
        "items": {"type": "string", "pattern": _HEX64},
        "description": "Subject keys of the children it is about (else its subject).",
    },
    "households": {
        "type": "array",
        "items": {"type": "string", "pattern": _HEX64},
        "description": "Household keys (keyed hashes of normalised addresses).",
    },
    "outcomes": {
        "type": "array",
        "description": "Each team's outcome: ChronologyOutcome in schemas/json.",
        "items": {"type": "object"},
    },
}

_CONTACT_REQUIRED = ["message_id", "occurred_at", "kind", "partner", "level", "destinations"]

_CONTACT: dict[str, Any] = {
    "type": "object",
    "description": "Internal to the router: one contact (hub.router.history.Contact).",
    "required": _CONTACT_REQUIRED,
    "properties": _CONTACT_PROPERTIES,
}

_SUBJECT_STATE: dict[str, Any] = {
    "type": "object",
    "description": "Internal to the router; versioned by v. Only the router reads it.",
    "required": ["v", "contacts", "last_marac_at", "open_case_area"],
    "properties": {
        "v": {"const": 1, "description": "Version of this format."},
        "contacts": {
            "type": "array",
            "description": "Messages about the subject in the last twelve months.",
            "items": {
                "type": "object",
                "required": _CONTACT_REQUIRED,
                "properties": _CONTACT_PROPERTIES,
            },
        },
        "last_marac_at": {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
            "description": "When the subject was last routed to MARAC.",
        },
        "open_case_area": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "The area holding an open case.",
        },
    },
}

_CHAIN_HEAD: dict[str, Any] = {
    "type": "object",
    "description": "Internal to the router; versioned by v (a bare hex hash before v2).",
    "required": ["v", "head", "count", "root"],
    "properties": {
        "v": {"const": 2, "description": "Version of this format."},
        "head": {"type": "string", "pattern": _HEX64, "description": "Hash of the last record."},
        "count": {
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}],
            "description": "How many records the chain holds (null: not known).",
        },
        "root": {"type": "string", "pattern": _HEX64, "description": "Hash of the first record."},
    },
}

_ROUTED_ID: dict[str, Any] = {
    "type": "object",
    "description": "Internal to the router. Where and when the id was routed or applied.",
    "required": ["at", "topic", "partition", "offset"],
    "properties": {
        "at": {"type": "string", "format": "date-time"},
        "topic": {"type": "string", "description": "Logical topic of the source record."},
        "partition": {"type": "integer", "minimum": 0},
        "offset": {"type": "integer", "minimum": 0},
    },
}

_INFO = """\
Every Kafka topic of the hub (deploy/topics.yaml), what travels on it, and which
component sends or receives it (DESIGN.md sections 3, 4 and 9).

Addresses are logical topic names: a deployment may prefix every topic
(HUB_KAFKA__TOPIC_PREFIX). Replication and min.insync.replicas depend on the profile
and are left out. Record keys are subject keys: the HMAC-SHA256 (64 lower-case hex
characters, as ASCII) of a person's normalised identifiers, never a raw identifier.
Header values are bytes on the wire, described here as the UTF-8 text they hold,
except MACs and signatures, which are raw bytes. Records between components carry a
keyed MAC (hub-key-id, hub-mac) that covers the topic, partition, key and value, so
each is written to an explicit partition (docs/security.md).

Generated by `hub schemas export` from the contract models (schemas/) and
deploy/topics.yaml; do not edit by hand.
"""

_HEADER = "# Generated by `hub schemas export`; do not edit. See docs/contracts.md.\n"


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors, with multi-line text as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 -- never alias
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)
