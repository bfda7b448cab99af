"""Every topic, consumer group and transactional id the hub uses, named once.

These are *logical* names: :meth:`hub.settings.KafkaSettings.topic` and ``.group``
add the deployment's prefix (tests use it to isolate runs). ``deploy/topics.yaml``
declares the same topics with their partitions and retention, and
``deploy/principals.yaml`` grants them; a test checks that the three agree, and
another that no other module spells a topic name itself.
"""

from __future__ import annotations

from schemas.common import Area, Partner

# ------------------------------------------------------------------------ topics

DECISIONS = "hub.decisions"
"""One decision record per inbound message (the audit log, hash-chained)."""
DLQ = "hub.dlq"
"""Unreadable, unverifiable or refused records, with context headers."""
HISTORY = "hub.subject-history"
"""The compacted changelog of the router's per-subject history."""
HOUSEHOLD_HISTORY = "hub.household-history"
"""Compacted: every recent contact, keyed by message id; every router reads it all."""
OUTCOMES = "team.outcomes"
"""Each team decision, with its rationale."""
DLQ_REPLAYS = "hub.dlq-replays"
"""One record per dead letter replayed (`hub dlq replay`): the marker and its audit."""
AUDIT_CHECKPOINTS = "hub.audit-checkpoints"
"""Signed heads of each partition's decision chain."""
ROUTED_IDS = "hub.routed-ids"
"""Compacted: every message id routed and outcome id applied, never trimmed (replay)."""
CHECKS = "hub.checks"
"""Agency checks: the MASH asks partners what they know."""
CHECK_RESPONSES = "hub.check-responses"
"""Partners' answers to agency checks."""

# The context headers of a dead letter (Kafka Connect's style).
DLQ_TOPIC_HEADER = "hub.dlq.topic"
DLQ_PARTITION_HEADER = "hub.dlq.partition"
DLQ_OFFSET_HEADER = "hub.dlq.offset"
DLQ_ERROR_CLASS_HEADER = "hub.dlq.error.class"
DLQ_ERROR_TEXT_HEADER = "hub.dlq.error.text"


def dlq_headers(
    topic: str, partition: int, offset: int, error: Exception
) -> list[tuple[str, bytes]]:
    """The context headers of a dead letter: where the record stood, and why it was refused.

    ``topic`` is the logical name; the error's text is cut at 1000 characters.
    """
    return [
        (DLQ_TOPIC_HEADER, topic.encode()),
        (DLQ_PARTITION_HEADER, str(partition).encode()),
        (DLQ_OFFSET_HEADER, str(offset).encode()),
        (DLQ_ERROR_CLASS_HEADER, type(error).__name__.encode()),
        (DLQ_ERROR_TEXT_HEADER, str(error)[:1000].encode()),
    ]


def inbound_topic(partner: Partner | str) -> str:
    """The inbound topic of a partner's connector."""
    return f"partner.{Partner(partner).value}.inbound"


def route_topic(area: Area | str) -> str:
    """The routed queue of a service area."""
    return f"route.{Area(area).value}"


INBOUND_TOPICS: tuple[str, ...] = tuple(inbound_topic(p) for p in Partner)
"""Every partner's inbound topic, in partner order."""
INBOUND_PARTNER: dict[str, Partner] = {inbound_topic(p): p for p in Partner}
"""The partner whose connector writes each inbound topic."""
ROUTE_TOPICS: tuple[str, ...] = tuple(route_topic(a) for a in Area)
"""Every area's routed queue, in area order."""

CO_PARTITIONED: tuple[str, ...] = (
    *INBOUND_TOPICS,
    OUTCOMES,
    *ROUTE_TOPICS,
    DECISIONS,
    ROUTED_IDS,
    AUDIT_CHECKPOINTS,
    HISTORY,
)
"""Topics whose partition N belongs to router task N: it reads the inbound topics and
outcomes there, and writes every record of task N to partition N of the others (a
team answers on the partition number its routed copy came from)."""

# ------------------------------------------------------------------------ groups

ROUTER_GROUP = "router"
"""The router processes' consumer group."""


def team_group(area: Area | str) -> str:
    """The consumer group of an area's team queue."""
    return f"team-{Area(area).value}"


# ------------------------------------------------------------------ transactions


def router_task_transaction(partition: int) -> str:
    """The transactional id of router task ``partition`` (one owner at a time)."""
    return f"router-task-{partition}"


DLQ_REPLAY_TRANSACTION = "dlq-replay"
"""The transactional id of ``hub dlq replay``: one replayer at a time, fenced."""


def connector_transaction(partner: Partner | str, instance: str) -> str:
    """The transactional id of one ingest instance's publisher for a partner."""
    return f"connector-{Partner(partner).value}-{instance}"


def check_answers_group(area: Area | str) -> str:
    """The consumer group of an area's agency-check answers."""
    return f"team-{Area(area).value}-checks"


def checks_transaction(area: Area | str, instance: str) -> str:
    """The transactional id of one team instance's agency-check requests."""
    return f"checks-{Area(area).value}-{instance}"


def check_answers_transaction(partner: str, instance: str) -> str:
    """The transactional id of one ingest instance's answers for a partner."""
    return f"check-answers-{partner}-{instance}"
