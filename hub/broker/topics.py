"""Topics as code: the declarative topics file, its validation, and idempotent apply.

``deploy/topics.yaml`` lists every topic with its partitions, retention and cleanup
policy; a *profile* (``local``, ``production``) supplies the replication factor and
``min.insync.replicas``. :func:`load_topics_file` refuses an invalid file naming the
entry and the reason; :func:`apply_topics` creates missing topics, grows partition
counts and replaces changed configs, and reports what it did.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.errors import KafkaUnavailableError, TopicsFileError
from hub.kafka import KafkaAdmin, TopicState
from hub.settings import KafkaSettings
from hub.topology import CO_PARTITIONED
from hub.yamlfile import describe_entry_error

_DURATION = re.compile(r"^(?P<n>\d+)(?P<unit>ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_TOPIC_NAME = r"^[a-z][a-z0-9.-]*[a-z0-9]$"


def parse_duration_ms(text: str) -> int:
    """Return ``text`` (``30d``, ``12h``, ``forever``) in milliseconds; -1 is forever."""
    if text == "forever":
        return -1
    match = _DURATION.match(text)
    if match is None:
        msg = f"{text!r} is not a duration like 30d, 12h, 15m or 'forever'"
        raise ValueError(msg)
    return int(match["n"]) * _UNIT_MS[match["unit"]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Profile(_Strict):
    """Cluster-dependent settings applied to every topic."""

    replication_factor: Annotated[int, Field(ge=1, le=7)]
    min_insync_replicas: Annotated[int, Field(ge=1, le=7)]

    @model_validator(mode="after")
    def _isr_within_rf(self) -> Profile:
        if self.min_insync_replicas > self.replication_factor:
            msg = "min_insync_replicas cannot exceed replication_factor"
            raise ValueError(msg)
        return self


class Defaults(_Strict):
    """Values a topic entry inherits when it does not set them."""

    partitions: Annotated[int, Field(ge=1, le=1000)] = 3
    retention: str = "7d"
    cleanup_policy: Literal["delete", "compact", "compact,delete"] = "delete"

    @field_validator("retention")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration_ms(value)
        return value


class TopicEntry(_Strict):
    """One topic as written in the file."""

    name: Annotated[str, Field(pattern=_TOPIC_NAME, max_length=200)]
    partitions: Annotated[int, Field(ge=1, le=1000)] | None = None
    retention: str | None = None
    cleanup_policy: Literal["delete", "compact", "compact,delete"] | None = None

    @field_validator("retention")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration_ms(value)
        return value


class TopicsFile(_Strict):
    """The whole file."""

    profiles: dict[str, Profile]
    defaults: Defaults = Defaults()
    topics: list[TopicEntry]


@dataclass(frozen=True)
class TopicSpec(TopicState):
    """The desired state of one topic (logical name), after defaults and profile are applied."""


def load_topics_file(path: Path, profile: str) -> list[TopicSpec]:
    """Read, validate and resolve the topics file for ``profile``."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise TopicsFileError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise TopicsFileError(f"{path}: not valid YAML: {exc}") from exc
    return resolve_topics(raw, profile, source=str(path))


def resolve_topics(raw: Any, profile: str, *, source: str = "topics file") -> list[TopicSpec]:
    """Validate parsed YAML and resolve it for ``profile``."""
    try:
        parsed = TopicsFile.model_validate(raw)
    except ValidationError as exc:
        raise TopicsFileError(f"{source}: {describe_entry_error(raw, exc, 'topics')}") from exc
    if profile not in parsed.profiles:
        known = ", ".join(sorted(parsed.profiles))
        raise TopicsFileError(f"{source}: unknown profile {profile!r} (known: {known})")
    prof = parsed.profiles[profile]
    specs: list[TopicSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(parsed.topics):
        if entry.name in seen:
            raise TopicsFileError(f"{source}: topics[{index}] ({entry.name}): duplicate name")
        seen.add(entry.name)
        d = parsed.defaults
        configs = {
            "retention.ms": str(parse_duration_ms(entry.retention or d.retention)),
            "cleanup.policy": entry.cleanup_policy or d.cleanup_policy,
            "min.insync.replicas": str(prof.min_insync_replicas),
        }
        specs.append(
            TopicSpec(
                entry.name, entry.partitions or d.partitions, prof.replication_factor, configs
            )
        )
    _check_co_partitioned(specs, source)
    return specs


def _check_co_partitioned(specs: list[TopicSpec], source: str) -> None:
    counts = {s.name: s.partitions for s in specs if s.name in CO_PARTITIONED}
    missing = [n for n in CO_PARTITIONED if n not in counts]
    if missing:
        raise TopicsFileError(f"{source}: required topic {missing[0]} is missing")
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{n}={c}" for n, c in counts.items())
        raise TopicsFileError(
            f"{source}: the router's co-partitioned topics (inbound, outcomes, routes and "
            f"hub records) must have the same partition count ({detail})"
        )


@dataclass(frozen=True)
class TopicChange:
    """What :func:`apply_topics` did (or would do) to one topic."""

    name: str
    action: Literal["created", "updated", "unchanged"]
    details: tuple[str, ...] = ()


async def apply_topics(
    specs: list[TopicSpec], kafka: KafkaSettings, *, dry_run: bool = False
) -> list[TopicChange]:
    """Bring the cluster to ``specs``: create, grow partitions, replace changed configs."""
    changes: list[TopicChange] = []
    async with KafkaAdmin(kafka) as admin:
        physical = {kafka.topic(s.name): s for s in specs}
        existing = await admin.list_topics()
        states = await admin.describe([n for n in physical if n in existing])
        for name, spec in physical.items():
            state = states.get(name)
            if state is None:
                if not dry_run:
                    await admin.create_topic(
                        name, spec.partitions, spec.replication_factor, spec.configs
                    )
                changes.append(TopicChange(spec.name, "created"))
                continue
            details = _diff(spec, state.partitions, state.replication_factor, state.configs)
            if not details:
                changes.append(TopicChange(spec.name, "unchanged"))
                continue
            if not dry_run:
                if spec.partitions > state.partitions:
                    await admin.increase_partitions(name, spec.partitions)
                if any(d.startswith("config") for d in details):
                    await admin.set_configs(name, spec.configs)
            changes.append(TopicChange(spec.name, "updated", tuple(details)))
        if not dry_run:
            await _wait_until_visible(admin, physical, changes, kafka)
    return changes


async def _wait_until_visible(
    admin: KafkaAdmin,
    physical: dict[str, TopicSpec],
    changes: list[TopicChange],
    kafka: KafkaSettings,
    timeout_s: float = 30.0,
) -> None:
    """Return once every created or grown topic shows its partitions in the metadata."""
    touched = {kafka.topic(c.name) for c in changes if c.action != "unchanged"}
    deadline = asyncio.get_running_loop().time() + timeout_s
    while touched:
        states = await admin.describe(sorted(touched))
        touched = {
            n for n in touched if n not in states or states[n].partitions < physical[n].partitions
        }
        if not touched:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise KafkaUnavailableError(
                f"topics not visible after {timeout_s:.0f}s: {sorted(touched)}"
            )
        await asyncio.sleep(0.2)


def _diff(spec: TopicSpec, partitions: int, rf: int, configs: dict[str, str]) -> list[str]:
    if spec.partitions < partitions:
        raise TopicsFileError(
            f"topic {spec.name}: partitions cannot shrink from {partitions} to {spec.partitions}"
        )
    if spec.replication_factor != rf:
        raise TopicsFileError(
            f"topic {spec.name}: replication factor is {rf}, the file says "
            f"{spec.replication_factor}; changing it needs a partition reassignment"
        )
    details = []
    if spec.partitions > partitions:
        details.append(f"partitions {partitions} -> {spec.partitions}")
    for key, want in spec.configs.items():
        have = configs.get(key)
        if have != want:
            details.append(f"config {key} {have} -> {want}")
    return details
