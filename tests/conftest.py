"""Fixtures shared by every test: isolated settings and, for integration tests, Kafka."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from hub.bootstrap import Hub
from hub.broker.topics import TopicSpec, apply_topics, load_topics_file
from hub.kafka import KafkaAdmin
from hub.policy import Decision, Policy, default_policy_path
from hub.policy import engine as policy_engine
from hub.policy.properties import default_properties_path, load_properties, violations
from hub.settings import PROJECT_ROOT, KafkaSettings
from tests.factories import hub_with_keys

SHARED = PROJECT_ROOT / "tests" / "data" / "shared"
BOOTSTRAP = os.environ.get("HUB_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
KAFKA_CLIENT_ENV = (
    "HUB_KAFKA__BOOTSTRAP_SERVERS",
    "HUB_KAFKA__SECURITY_PROTOCOL",
    "HUB_KAFKA__SASL_MECHANISM",
    "HUB_KAFKA__USERNAME",
    "HUB_KAFKA__PASSWORD",
)
"""How the test command reaches the broker (the admin's credentials when it runs with
SASL, from ``hub broker admin-env``)."""
BROKER_ENV = (
    "HUB_BROKER__SASL",
    "HUB_BROKER__PORT",
    "HUB_BROKER__CONTROLLER_PORT",
    "HUB_BROKER__STATE_DIR",
)
"""Which local broker the test command started (for tests that run ``hub demo``)."""
KAFKA_CLIENT = {
    name.removeprefix("HUB_KAFKA__").lower(): os.environ[name]
    for name in KAFKA_CLIENT_ENV
    if name in os.environ
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder so `-m integration` and friends select them."""
    for item in items:
        path = Path(str(item.fspath))
        if "integration" in path.parts:
            item.add_marker(pytest.mark.integration)
        if "e2e" in path.parts:
            item.add_marker(pytest.mark.e2e)
        parts = path.parts
        if "security" in parts and parts[parts.index("security") - 1] == "tests":
            item.add_marker(pytest.mark.security)


@pytest.fixture(autouse=True)
def _no_hub_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the developer's HUB_* variables out of tests (except how to reach Kafka)."""
    for name in list(os.environ):
        if name.startswith("HUB_") and name not in KAFKA_CLIENT_ENV + BROKER_ENV:
            monkeypatch.delenv(name)
    return


DEFAULT_POLICY_VERSION = hashlib.sha256(default_policy_path().read_bytes()).hexdigest()
SAFETY_PROPERTIES = load_properties([default_properties_path()])


@pytest.fixture(autouse=True)
def _default_policy_stays_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every decision the default policy makes in any test keeps the safety properties.

    No child at risk of significant harm is returned or only recorded, whatever the test
    was about (hub/policy/safety.yaml); the checker proves it for every message, this
    guard for each message a test routes in process.
    """
    decide_facts = policy_engine.decide_facts

    def guarded(policy: Policy, facts: Mapping[str, Any], *, consent_given: bool) -> Decision:
        decision = decide_facts(policy, facts, consent_given=consent_given)
        if policy.version == DEFAULT_POLICY_VERSION:
            broken = violations(SAFETY_PROPERTIES, policy, facts, decision)
            assert not broken, f"the default policy broke a safety property: {broken}"
        return decision

    monkeypatch.setattr(policy_engine, "decide_facts", guarded)


def _broker_reachable() -> bool:
    host, _, port = BOOTSTRAP.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Hub:
    """A hub with a keyring of its own (MACs and encryption on), shared by a test module."""
    return hub_with_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def kafka_up() -> str:
    """The real broker's address; fails (never skips) when the broker is down."""
    if not _broker_reachable():
        pytest.fail(
            f"no Kafka broker at {BOOTSTRAP}: run the tests with ./dev test, which starts one"
        )
    return BOOTSTRAP


@pytest.fixture
def kafka_settings(kafka_up: str) -> KafkaSettings:
    """Settings with a topic prefix of this test's own."""
    return KafkaSettings.model_validate(
        KAFKA_CLIENT | {"bootstrap_servers": kafka_up, "topic_prefix": f"t{uuid.uuid4().hex[:10]}."}
    )


@pytest.fixture
def topic_specs() -> list[TopicSpec]:
    """The project's topics file, resolved for the local single-node broker."""
    return load_topics_file(PROJECT_ROOT / "deploy" / "topics.yaml", "local")


@pytest.fixture
async def hub_topics(
    kafka_settings: KafkaSettings, topic_specs: list[TopicSpec]
) -> AsyncIterator[KafkaSettings]:
    """Every hub topic created under this test's prefix, deleted afterwards."""
    await apply_topics(topic_specs, kafka_settings)
    yield kafka_settings
    async with KafkaAdmin(kafka_settings) as admin:
        names = [n for n in await admin.list_topics() if n.startswith(kafka_settings.topic_prefix)]
        await admin.delete_topics(names)
