from __future__ import annotations

from pathlib import Path

import confluent_kafka
import pytest
from confluent_kafka import admin as ck
from pydantic import SecretStr
from structlog.testing import capture_logs

from hub.errors import (
    HubError,
    KafkaAuthorizationError,
    KafkaError,
    KafkaUnavailableError,
)
from hub.security.admin import (
    KafkaSecurityAdmin,
    _binding,
    _fields,
    admin_errors,
    can_authenticate,
    client_config,
    scram_credential,
)
from hub.security.principals import (
    CLUSTER_NAME,
    AclBinding,
    Operation,
    PatternType,
    ResourceType,
)
from hub.settings import KafkaSettings

Code = confluent_kafka.KafkaError


class TestScram:
    def test_random_salt_and_no_secret_in_repr(self) -> None:
        """Each credential gets its own salt; repr shows neither password nor salt."""
        one = scram_credential("u", SecretStr("pencil"))
        two = scram_credential("u", SecretStr("pencil"))
        assert one.salt != two.salt
        assert len(one.salt) == 32
        assert one.iterations == 8192
        assert "salt" not in repr(one)
        assert "pencil" not in repr(one)

    def test_upsertion_carries_mechanism_iterations_password_and_salt(self) -> None:
        """confluent-kafka gets what it salts and hashes; the password stays in-process."""
        salt = b"s" * 32
        cred = scram_credential("router", SecretStr("pencil"), "SCRAM-SHA-512", 4096, salt=salt)
        upsertion = cred.upsertion()
        assert upsertion.user == "router"
        assert upsertion.scram_credential_info.mechanism is ck.ScramMechanism.SCRAM_SHA_512
        assert upsertion.scram_credential_info.iterations == 4096
        assert upsertion.password == b"pencil"
        assert upsertion.salt == salt

    def test_iterations_outside_kafkas_range_are_refused(self) -> None:
        """Kafka accepts 4096..16384 iterations; others fail before any request."""
        with pytest.raises(KafkaError, match="4096"):
            scram_credential("u", SecretStr("p"), iterations=1000)
        with pytest.raises(KafkaError, match="16384"):
            scram_credential("u", SecretStr("p"), iterations=20000)

    def test_unknown_mechanism_is_refused(self) -> None:
        """Only SCRAM-SHA-256 and -512 exist."""
        with pytest.raises(KafkaError, match="SCRAM-SHA-1"):
            scram_credential("u", SecretStr("p"), mechanism="SCRAM-SHA-1")


class TestClientConfig:
    def test_plaintext_has_no_sasl_properties(self) -> None:
        """Without SASL no credentials are configured."""
        config = client_config(KafkaSettings(bootstrap_servers="k:9092"), "hub-security")
        assert config == {
            "bootstrap.servers": "k:9092",
            "client.id": "hub-security",
            "security.protocol": "PLAINTEXT",
            "socket.timeout.ms": 15_000,
        }

    def test_sasl_settings_become_librdkafka_properties(self, tmp_path: Path) -> None:
        """Protocol, mechanism, username and the password (or its file) are passed on."""
        secret = tmp_path / "password"
        secret.write_text("from-file\n")
        settings = KafkaSettings(
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            username="router",
            password_file=secret,
        )
        config = client_config(settings, "hub-security")
        assert config["security.protocol"] == "SASL_PLAINTEXT"
        assert config["sasl.mechanism"] == "SCRAM-SHA-512"
        assert config["sasl.username"] == "router"
        assert config["sasl.password"] == "from-file"


class TestAcls:
    @pytest.mark.parametrize(
        ("hub_value", "theirs"),
        [
            *(
                (t, ck.ResourceType[t.name])
                for t in ResourceType
                if t.name in ck.ResourceType.__members__
            ),
            (ResourceType.CLUSTER, ck.ResourceType.BROKER),
            *((p, ck.ResourcePatternType[p.name]) for p in PatternType),
            *(
                (o, ck.AclOperation[o.name])
                for o in Operation
                if o.name in ck.AclOperation.__members__
            ),
        ],
    )
    def test_the_hubs_wire_values_are_confluent_kafkas(
        self, hub_value: int, theirs: object
    ) -> None:
        """Both sides use Kafka's wire values, so a binding converts value for value."""
        assert getattr(theirs, "value", None) == int(hub_value)

    @pytest.mark.parametrize(
        "binding",
        [
            AclBinding(
                ResourceType.TOPIC, "route.mash", PatternType.LITERAL, "User:r", Operation.READ
            ),
            AclBinding(ResourceType.GROUP, "team-", PatternType.PREFIXED, "User:t", Operation.READ),
            AclBinding(
                ResourceType.TRANSACTIONAL_ID,
                "router-",
                PatternType.PREFIXED,
                "User:r",
                Operation.WRITE,
            ),
            AclBinding(
                ResourceType.CLUSTER,
                CLUSTER_NAME,
                PatternType.LITERAL,
                "User:r",
                Operation.IDEMPOTENT_WRITE,
            ),
        ],
    )
    def test_every_kind_of_grant_survives_the_round_trip(self, binding: AclBinding) -> None:
        """What the hub grants goes to confluent-kafka and comes back equal."""
        assert _binding(ck.AclBinding(*_fields(binding))) == binding

    def test_a_binding_confluent_kafka_cannot_express_is_refused(self) -> None:
        """A User-resource ACL (never granted by the file) fails as the hub's error."""
        user = AclBinding(
            ResourceType.USER, "User:r", PatternType.LITERAL, "User:r", Operation.CREATE_TOKENS
        )
        with pytest.raises(KafkaError, match="cannot express"):
            _fields(user)


class TestErrors:
    @pytest.mark.parametrize(
        ("code", "expected", "text"),
        [
            (
                Code.CLUSTER_AUTHORIZATION_FAILED,
                KafkaAuthorizationError,
                "ClusterAuthorizationFailed",
            ),
            (Code.TOPIC_AUTHORIZATION_FAILED, KafkaAuthorizationError, "TopicAuthorizationFailed"),
            (Code._AUTHENTICATION, KafkaAuthorizationError, "not authorised"),
            (Code.SASL_AUTHENTICATION_FAILED, KafkaAuthorizationError, "SaslAuthenticationFailed"),
            (Code._TRANSPORT, KafkaUnavailableError, "Kafka unavailable"),
            (Code._ALL_BROKERS_DOWN, KafkaUnavailableError, "AllBrokersDown"),
            (Code.REQUEST_TIMED_OUT, KafkaUnavailableError, "RequestTimedOut"),
            (Code.NOT_CONTROLLER, KafkaUnavailableError, "NotController"),
            (Code.SECURITY_DISABLED, KafkaError, "no authorizer"),
            (Code.RESOURCE_NOT_FOUND, KafkaError, "ResourceNotFound"),
            (Code.UNSUPPORTED_SASL_MECHANISM, KafkaError, "UnsupportedSaslMechanism"),
        ],
    )
    def test_codes_become_the_hubs_errors(
        self, code: int, expected: type[KafkaError], text: str
    ) -> None:
        """Each librdkafka or broker code maps to the hub's class; the name says which."""
        with pytest.raises(KafkaError, match=text) as caught, admin_errors("doing it"):
            raise confluent_kafka.KafkaException(Code(code, "why"))
        assert type(caught.value) is expected
        assert str(caught.value).startswith("doing it: ")
        assert isinstance(caught.value.__cause__, confluent_kafka.KafkaException)

    def test_a_retriable_error_is_unavailable(self) -> None:
        """The retriable flag of librdkafka decides, never the text."""
        with pytest.raises(KafkaUnavailableError), admin_errors("x"):
            raise confluent_kafka.KafkaException(Code(Code.UNKNOWN, "why", retriable=True))

    def test_no_confluent_kafka_error_escapes(self) -> None:
        """Every error code confluent-kafka defines becomes a HubError."""
        codes = {
            getattr(Code, name)
            for name in dir(Code)
            if name.lstrip("_")[:1].isupper() and isinstance(getattr(Code, name), int)
        }
        assert len(codes) > 150
        for code in codes:
            with pytest.raises(HubError), admin_errors("x"):
                raise confluent_kafka.KafkaException(Code(code))
        with pytest.raises(KafkaError, match="plain text"), admin_errors("x"):
            raise confluent_kafka.KafkaException("plain text")


class TestClient:
    async def test_used_outside_async_with_is_an_error(self) -> None:
        """The client only exists inside ``async with``."""
        with pytest.raises(KafkaError, match="outside"):
            await KafkaSecurityAdmin(KafkaSettings()).describe_acls()

    async def test_no_broker_fails_fast_as_unavailable(self) -> None:
        """Nothing listening: the hub's retriable error at once, not after the timeout."""
        nowhere = KafkaSettings(bootstrap_servers="127.0.0.1:1")
        with pytest.raises(KafkaUnavailableError, match="AllBrokersDown"):
            async with KafkaSecurityAdmin(nowhere):
                pass
        assert not await can_authenticate(nowhere)

    async def test_librdkafka_logs_to_structlog_not_stderr(
        self, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """The lines of librdkafka go to structlog at debug; the password is in neither."""
        settings = KafkaSettings(
            bootstrap_servers="127.0.0.1:1",
            security_protocol="SASL_PLAINTEXT",
            username="router",
            password=SecretStr("never-logged-pw"),
        )
        with capture_logs() as logs:
            assert not await can_authenticate(settings)
        stderr = capfd.readouterr().err
        assert "Connection refused" not in stderr
        lines = [e for e in logs if e["event"] == "kafka_client_log"]
        assert lines
        assert all(e["log_level"] == "debug" for e in lines)
        assert "never-logged-pw" not in repr(logs) + stderr
