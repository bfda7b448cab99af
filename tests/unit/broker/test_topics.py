from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from hub.broker.topics import (
    CO_PARTITIONED,
    _diff,
    load_topics_file,
    parse_duration_ms,
    resolve_topics,
)
from hub.errors import TopicsFileError
from hub.settings import PROJECT_ROOT
from tests.deploy_files import load_yaml, named

TOPICS_FILE = PROJECT_ROOT / "deploy" / "topics.yaml"
AREAS = [
    "mash",
    "early-help",
    "da-triage",
    "marac",
    "encompass",
    "housing",
    "lado",
    "adult-services",
    "allocated-team",
    "record-only",
    "returned",
]


@pytest.fixture
def raw() -> dict[str, Any]:
    return load_yaml(TOPICS_FILE)


def entry(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return named(raw["topics"], name)


class TestTheProjectsTopicsFile:
    def test_every_contract_topic_is_declared(self) -> None:
        """DESIGN.md section 4: four inbound, one route per area, four hub topics."""
        names = {s.name for s in load_topics_file(TOPICS_FILE, "local")}
        expected = {f"route.{a}" for a in AREAS} | {
            "partner.police.inbound",
            "partner.health.inbound",
            "partner.housing.inbound",
            "partner.domestic-abuse.inbound",
            "hub.decisions",
            "hub.dlq",
            "hub.dlq-replays",  # `hub dlq replay`: the markers and audit of replays
            "team.outcomes",
            "hub.subject-history",
            "hub.household-history",
            "hub.routed-ids",
            "hub.audit-checkpoints",
            "hub.checks",
            "hub.check-responses",
        }
        assert names == expected

    def test_profiles_set_replication(self) -> None:
        """Local is one replica; production is three with two in sync."""
        local = {s.name: s for s in load_topics_file(TOPICS_FILE, "local")}
        prod = {s.name: s for s in load_topics_file(TOPICS_FILE, "production")}
        assert local["route.mash"].replication_factor == 1
        assert prod["route.mash"].replication_factor == 3
        assert prod["route.mash"].configs["min.insync.replicas"] == "2"

    def test_history_is_compacted_and_decisions_kept(self) -> None:
        """The history changelog is compacted; the audit log never expires."""
        specs = {s.name: s for s in load_topics_file(TOPICS_FILE, "local")}
        assert specs["hub.subject-history"].configs["cleanup.policy"] == "compact"
        assert specs["hub.decisions"].configs["retention.ms"] == "-1"
        assert specs["partner.police.inbound"].configs["retention.ms"] == str(30 * 86_400_000)

    def test_co_partitioned_topics_agree(self) -> None:
        """The router's topics (inbound, outcomes, routes, hub records) have one count."""
        specs = {s.name: s for s in load_topics_file(TOPICS_FILE, "local")}
        assert len({specs[n].partitions for n in CO_PARTITIONED}) == 1


class TestInvalidFiles:
    def test_unknown_field_names_the_entry(self, raw: dict[str, Any]) -> None:
        """A typo in an entry is refused naming the entry and the field."""
        entry(raw, "route.mash")["partitons"] = 3
        with pytest.raises(TopicsFileError, match=r"topics\[\d+\] \(route.mash\): partitons"):
            resolve_topics(raw, "local")

    def test_bad_retention_names_the_entry(self, raw: dict[str, Any]) -> None:
        """A retention that is not a duration is refused with the reason."""
        entry(raw, "hub.dlq")["retention"] = "three months"
        with pytest.raises(TopicsFileError, match=r"\(hub.dlq\): retention.*not a duration"):
            resolve_topics(raw, "local")

    def test_zero_partitions_is_refused(self, raw: dict[str, Any]) -> None:
        """Partitions must be at least one."""
        entry(raw, "route.lado")["partitions"] = 0
        with pytest.raises(TopicsFileError, match=r"\(route.lado\): partitions"):
            resolve_topics(raw, "local")

    def test_duplicate_topic_is_refused(self, raw: dict[str, Any]) -> None:
        """A topic declared twice is refused."""
        raw["topics"].append(copy.deepcopy(entry(raw, "route.mash")))
        with pytest.raises(TopicsFileError, match=r"route.mash\): duplicate"):
            resolve_topics(raw, "local")

    def test_mismatched_co_partitioning_is_refused(self, raw: dict[str, Any]) -> None:
        """The router's co-partitioning invariant is checked at load."""
        entry(raw, "partner.health.inbound")["partitions"] = 12
        with pytest.raises(TopicsFileError, match="same partition count"):
            resolve_topics(raw, "local")

    def test_unknown_profile_is_refused(self, raw: dict[str, Any]) -> None:
        """Applying a profile the file lacks names the known ones."""
        with pytest.raises(TopicsFileError, match=r"unknown profile 'staging'.*local"):
            resolve_topics(raw, "staging")

    def test_isr_above_replication_is_refused(self, raw: dict[str, Any]) -> None:
        """min.insync.replicas above the replication factor could never be met."""
        raw["profiles"]["local"]["min_insync_replicas"] = 2
        with pytest.raises(TopicsFileError, match="min_insync_replicas"):
            resolve_topics(raw, "local")

    def test_missing_file_and_bad_yaml(self, tmp_path: Path) -> None:
        """File errors are configuration errors with the path."""
        with pytest.raises(TopicsFileError, match="not found"):
            load_topics_file(tmp_path / "nope.yaml", "local")
        bad = tmp_path / "bad.yaml"
        bad.write_text("topics: [unclosed")
        with pytest.raises(TopicsFileError, match="not valid YAML"):
            load_topics_file(bad, "local")

    def test_durations(self) -> None:
        """Durations convert to milliseconds; forever is -1."""
        assert parse_duration_ms("90d") == 90 * 86_400_000
        assert parse_duration_ms("15m") == 900_000
        assert parse_duration_ms("forever") == -1
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration_ms("10 days")


class TestChanges:
    def test_unchanged_topic_has_no_diff(self) -> None:
        """A topic matching the file needs nothing."""
        spec = next(s for s in load_topics_file(TOPICS_FILE, "local") if s.name == "route.mash")
        assert _diff(spec, spec.partitions, 1, dict(spec.configs)) == []

    def test_grown_partitions_and_changed_config_are_reported(self) -> None:
        """More partitions and a changed retention are both changes to apply."""
        spec = next(s for s in load_topics_file(TOPICS_FILE, "local") if s.name == "route.mash")
        configs = dict(spec.configs) | {"retention.ms": "1000"}
        details = _diff(spec, spec.partitions - 1, 1, configs)
        assert f"partitions {spec.partitions - 1} -> {spec.partitions}" in details
        assert any(d.startswith("config retention.ms 1000 ->") for d in details)

    def test_shrinking_is_refused(self) -> None:
        """Kafka cannot remove partitions; the file may not ask for it."""
        spec = next(s for s in load_topics_file(TOPICS_FILE, "local") if s.name == "route.mash")
        with pytest.raises(TopicsFileError, match="cannot shrink"):
            _diff(spec, spec.partitions + 1, 1, dict(spec.configs))

    def test_replication_change_is_refused(self) -> None:
        """A replication-factor change needs a reassignment, which apply does not do."""
        spec = next(s for s in load_topics_file(TOPICS_FILE, "production") if s.name == "hub.dlq")
        with pytest.raises(TopicsFileError, match="reassignment"):
            _diff(spec, spec.partitions, 1, dict(spec.configs))
