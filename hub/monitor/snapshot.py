"""What one sample of the monitor found: the models behind /metrics, /api/status and ``hub status``.

These are the monitor's own read models, not contracts between components: they
are built fresh for every sample and served as JSON by ``/api/status``.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from hub.monitor.checkboard import ChecksView
from hub.monitor.evaluator import ConsumerStatus
from schemas.common import Area, FrozenModel, Partner

__all__ = [
    "AreaFlow",
    "DayVolume",
    "GroupLag",
    "MonitorSnapshot",
    "PartitionLag",
    "PartnerQuality",
    "ReasonCount",
    "ScorecardView",
]


class PartitionLag(FrozenModel):
    """Lag of one partition for one consumer group."""

    topic: str = Field(description="Physical topic name.")
    partition: int = Field(description="Partition number.")
    committed: int | None = Field(description="Committed offset; None when never committed.")
    log_start: int = Field(description="First offset still in the log.")
    log_end: int = Field(description="Log-end offset (high watermark).")
    lag: int = Field(description="log_end minus committed (log_start if none), at least 0.")
    lag_seconds: float = Field(description="Age of the oldest unconsumed record; 0 when none.")
    status: ConsumerStatus = Field(description="Burrow-style status of the partition.")
    commit_age_seconds: float | None = Field(
        description="Since the monitor last saw the committed offset change (or first saw it)."
    )


class GroupLag(FrozenModel):
    """One consumer group over the topics it must read."""

    name: str = Field(description="Logical group name, e.g. team-mash or router.")
    group: str = Field(description="Physical group name (with the topic prefix).")
    area: Area | None = Field(description="The area whose route queue this is, if any.")
    topics: tuple[str, ...] = Field(description="Physical names of the topics it reads.")
    state: str = Field(description="Group state as the coordinator reports it.")
    members: int = Field(description="Members in the group now.")
    status: ConsumerStatus = Field(description="The worst partition status.")
    samples: int = Field(description="Samples in the fullest partition window so far.")
    lag: int = Field(description="Total lag in messages over every partition.")
    lag_seconds: float = Field(description="Age of the oldest unconsumed record of the group.")
    partitions: tuple[PartitionLag, ...] = Field(description="Per partition.")

    def topic_lag_seconds(self, topic: str) -> float:
        """The oldest unconsumed record's age on one topic."""
        return max((p.lag_seconds for p in self.partitions if p.topic == topic), default=0.0)

    def topic_lag(self, topic: str) -> int:
        """Total lag in messages on one topic."""
        return sum(p.lag for p in self.partitions if p.topic == topic)


class AreaFlow(FrozenModel):
    """Routed copies and team outcomes of one area."""

    area: Area = Field(description="The service area.")
    undecided: int = Field(description="Routed copies with no outcome yet.")
    oldest_undecided_seconds: float = Field(description="Age of the oldest; 0 when none.")
    overdue: int = Field(description="Undecided copies past their due_by now.")
    decided: int = Field(description="Outcomes recorded.")
    decided_late: int = Field(description="Outcomes recorded after their due_by.")
    sla_breaches: int = Field(description="overdue plus decided_late.")
    time_to_decision_p50_seconds: float | None = Field(
        description="Median of decided_at minus routed_at over recent outcomes."
    )
    time_to_decision_p90_seconds: float | None = Field(
        description="90th percentile of decided_at minus routed_at over recent outcomes."
    )
    time_to_decision_buckets: tuple[int, ...] = Field(
        description=(
            "Outcomes (of every one read) decided within each bound of "
            "TIME_TO_DECISION_BUCKETS_S, cumulative, as a Prometheus histogram counts them."
        )
    )
    time_to_decision_count: int = Field(description="Outcomes with a known routed_at.")
    time_to_decision_sum_seconds: float = Field(description="Their decision times, summed.")
    awaiting_authorisation: int = Field(
        0, description="MASH threshold decisions waiting for a manager's authorisation."
    )
    oldest_awaiting_authorisation_seconds: float = Field(
        0.0, description="How long the oldest has waited; 0 when none."
    )
    time_to_authorisation_p50_seconds: float | None = Field(
        None, description="Median of authorisation time minus decision time, recent ones."
    )
    authorised: int = Field(0, description="Recent authorisations (or returns) timed.")


class ReasonCount(FrozenModel):
    """How often one returned reason was given."""

    reason: str = Field(description="The policy's returned reason.")
    count: int = Field(description="Messages returned with it.")


class PartnerQuality(FrozenModel):
    """One partner's line of the data-quality scorecard."""

    partner: Partner = Field(description="The partner.")
    messages: int = Field(description="Messages decided on (one decision each).")
    returned: int = Field(description="Messages returned to the partner.")
    returned_ratio: float | None = Field(description="returned / messages; None when none.")
    top_returned_reasons: tuple[ReasonCount, ...] = Field(description="Most frequent first.")
    quality_score_average: float | None = Field(
        description="Mean data-quality score (0-100) given at the door; None when none seen."
    )
    quality_score_sum: int = Field(description="Data-quality scores given at the door, summed.")
    quality_scored: int = Field(description="Messages whose score counts toward the mean.")


class DayVolume(FrozenModel):
    """One partner's messages on one local day."""

    day: date = Field(description="Local date the connector received them (SLA time zone).")
    partner: Partner = Field(description="The partner.")
    messages: int = Field(description="Messages decided on.")
    returned: int = Field(description="Of which returned.")
    returned_ratio: float | None = Field(description="returned / messages.")


class ScorecardView(FrozenModel):
    """Flow, SLA and data quality, from hub.decisions, team.outcomes, route.* and hub.dlq."""

    areas: tuple[AreaFlow, ...] = Field(description="Per area that has an SLA clock.")
    partners: tuple[PartnerQuality, ...] = Field(description="Per partner.")
    days: tuple[DayVolume, ...] = Field(description="Per local day and partner, oldest first.")
    police_messages: int = Field(description="Police messages decided on.")
    police_kept_from_mash: int = Field(description="Of which not routed to the MASH.")
    police_kept_from_mash_ratio: float | None = Field(description="The share kept away.")
    decisions_by_rule: dict[str, int] = Field(
        default_factory=dict,
        description="Decisions in which each policy rule matched (a decision counts once "
        "for every rule that matched it).",
    )
    dlq_messages: int = Field(description="Committed records on hub.dlq.")
    dlq_by_error_class: dict[str, int] = Field(description="hub.dlq records per error class.")
    signature_failures: int = Field(
        description="hub.dlq records refused as forged (SignatureError and its subclasses)."
    )
    unreadable_records: int = Field(description="Records the monitor could not parse.")
    caught_up: bool = Field(description="Every record written before this sample was read.")
    checks: ChecksView = Field(
        default_factory=ChecksView,
        description="Agency checks: open and overdue, partners' response times (section 17).",
    )


class MonitorSnapshot(FrozenModel):
    """Everything one sample found."""

    taken_at: datetime = Field(description="When the sample was taken (UTC).")
    duration_seconds: float = Field(description="How long the sample took.")
    window: int = Field(description="Samples per partition window of the status rules.")
    groups: tuple[GroupLag, ...] = Field(description="Route queues first, then the router.")
    scorecard: ScorecardView = Field(description="Flow, SLA and data quality.")

    def group_for(self, area: Area) -> GroupLag | None:
        """The team group of an area's route queue."""
        return next((g for g in self.groups if g.area is area), None)
