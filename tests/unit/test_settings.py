from __future__ import annotations

import os
from pathlib import Path

import pytest

from hub.bootstrap import load_settings
from hub.errors import ConfigurationError
from hub.settings import BrokerSettings, HubSettings, KafkaSettings


class TestSettings:
    def test_defaults_point_at_the_local_broker(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without environment the hub talks to the local broker in plaintext."""
        for name in list(os.environ):
            if name.startswith("HUB_"):
                monkeypatch.delenv(name)
        settings = HubSettings()
        assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
        assert settings.kafka.security_protocol == "PLAINTEXT"
        assert settings.topics.profile == "local"

    def test_nested_environment_variables_override(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """HUB_SECTION__FIELD sets a nested field."""
        monkeypatch.setenv("HUB_KAFKA__BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
        monkeypatch.setenv("HUB_BROKER__PORT", "19092")
        monkeypatch.setenv("HUB_TOPICS__PROFILE", "production")
        settings = load_settings()
        assert settings.kafka.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
        assert settings.broker.port == 19092
        assert settings.topics.profile == "production"

    def test_invalid_value_names_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A bad value fails at start-up naming the HUB_ variable."""
        monkeypatch.setenv("HUB_BROKER__PORT", "not-a-port")
        with pytest.raises(ConfigurationError, match="HUB_BROKER__PORT"):
            load_settings()

    def test_unknown_security_protocol_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Only the supported security protocols are accepted."""
        monkeypatch.setenv("HUB_KAFKA__SECURITY_PROTOCOL", "SSL_WITH_HOPE")
        with pytest.raises(ConfigurationError, match="SECURITY_PROTOCOL"):
            load_settings()

    def test_secrets_never_show_in_repr(self) -> None:
        """A password is a SecretStr and is masked when printed."""
        settings = KafkaSettings(password="hunter2-not-real", username="router")  # type: ignore[arg-type]
        assert "hunter2" not in repr(settings)
        assert "hunter2" not in str(settings.model_dump())

    def test_topic_prefix_applies_to_topics_and_groups(self) -> None:
        """Tests isolate themselves with a prefix on every topic and group."""
        settings = KafkaSettings(topic_prefix="t1.")
        assert settings.topic("route.mash") == "t1.route.mash"
        assert settings.group("router") == "t1.router"

    def test_broker_ports_must_differ(self) -> None:
        """The client and controller listeners cannot share a port."""
        with pytest.raises(ValueError, match="must differ"):
            BrokerSettings(port=9092, controller_port=9092)

    def test_settings_are_frozen(self) -> None:
        """Settings are built once and never mutated."""
        settings = HubSettings()
        with pytest.raises(ValueError, match="frozen"):
            settings.broker.state_dir = Path("/tmp/elsewhere")  # type: ignore[misc]
