"""Authentication and ACLs against a real SASL/SCRAM broker that this module starts.

The broker runs on free ports with its own state directory (the jars come from the
usual cache), so the shared PLAINTEXT broker is not touched. Every refusal below is a
real attempt that the broker denies; the allowed paths are the components' real ones.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr
from structlog.testing import capture_logs

from hub.broker.local import LocalBroker
from hub.broker.topics import apply_topics, load_topics_file
from hub.errors import KafkaAuthorizationError, KafkaError, KafkaUnavailableError
from hub.kafka import (
    KafkaAdmin,
    TopicPartition,
    end_offsets,
    kafka_errors,
    make_consumer,
    make_producer,
    partitions_of,
)
from hub.security.admin import KafkaSecurityAdmin, can_authenticate, scram_credential
from hub.security.credentials import PrincipalChange, apply_security, rotate_credential
from hub.security.passwords import SecretStore, credential_env, principal_settings
from hub.security.principals import (
    AclBinding,
    Operation,
    PatternType,
    Principal,
    ResourceType,
    acl_bindings,
    load_principals_file,
)
from hub.settings import PROJECT_ROOT, BrokerSettings, KafkaSettings

PREFIX = "sec."
TOOLS_LOG4J = PROJECT_ROOT / "deploy" / "kafka" / "tools-log4j2.properties"


@dataclass(frozen=True)
class Secured:
    """The secured broker after `hub security apply`, and how to act as each principal."""

    broker: LocalBroker
    settings: BrokerSettings
    admin: KafkaSettings
    store: SecretStore
    principals: list[Principal]
    first: list[PrincipalChange]

    def as_(self, principal: str) -> KafkaSettings:
        return principal_settings(self.admin, principal, self.store)

    def principal(self, name: str) -> Principal:
        return next(p for p in self.principals if p.name == name)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """A SASL broker of this module's own, with the hub's topics, credentials and ACLs."""
    state = tmp_path_factory.mktemp("sasl-broker")
    port, controller_port = free_ports(2)
    settings = BrokerSettings(
        state_dir=state, port=port, controller_port=controller_port, sasl=True, heap="512m"
    )
    broker = LocalBroker(settings)
    broker.start()
    try:
        admin = broker.admin_kafka_settings(KafkaSettings(topic_prefix=PREFIX))
        specs = load_topics_file(PROJECT_ROOT / "deploy" / "topics.yaml", "local")
        principals = load_principals_file(
            PROJECT_ROOT / "deploy" / "principals.yaml", [s.name for s in specs]
        )
        store = SecretStore(state / "secrets")

        async def provision() -> list[PrincipalChange]:
            await apply_topics(specs, admin)
            return await apply_security(principals, admin, store)

        first = asyncio.run(provision())
        yield Secured(broker, settings, admin, store, principals, first)
    finally:
        broker.stop()


@asynccontextmanager
async def running(client: AIOKafkaProducer | AIOKafkaConsumer, action: str) -> AsyncIterator[Any]:
    """Start a client and always stop it, also when the broker refuses the start."""
    try:
        with kafka_errors(action):
            await client.start()
        yield client
    finally:
        await client.stop()


async def produce(
    kafka: KafkaSettings, topic: str, value: bytes, *, transactional_id: str | None = None
) -> None:
    producer = make_producer(kafka, "sec-test", transactional_id=transactional_id)
    async with running(producer, "starting a producer"):
        with kafka_errors(f"writing {topic}"):
            if transactional_id is None:
                await producer.send_and_wait(kafka.topic(topic), value, key=b"subject")
                return
            async with producer.transaction():
                await producer.send_and_wait(kafka.topic(topic), value, key=b"subject")


async def read_until(
    kafka: KafkaSettings, topic: str, value: bytes, *, group: str | None = None
) -> tuple[AIOKafkaConsumer, TopicPartition, int]:
    """Read ``topic`` (with ``group``, or every partition) until ``value`` turns up.

    Returns the still-running consumer (the caller stops it), the partition and offset.
    """
    consumer = make_consumer(kafka, "sec-test", *([topic] if group else []), group_id=group)
    with kafka_errors("starting a consumer"):
        try:
            await consumer.start()
            if group is None:
                partitions = await partitions_of(consumer, [kafka.topic(topic)])
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
        except BaseException:
            await consumer.stop()
            raise
    try:
        async with asyncio.timeout(60):
            while True:
                with kafka_errors(f"reading {topic}"):
                    batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for record in records:
                        if record.value == value:
                            return consumer, tp, record.offset
    except BaseException:
        await consumer.stop()
        raise


async def log_says(broker: LocalBroker, needle: str) -> bool:
    """Whether the broker's log shows ``needle`` within a few seconds."""
    for _ in range(50):
        if needle in broker.log_file.read_text(errors="replace"):
            return True
        await asyncio.sleep(0.1)
    return False


async def team_mash_commits(
    secured: Secured, value: bytes, transactional_id: str
) -> tuple[KafkaSettings, TopicPartition, int]:
    """team-mash's settings, and where ``value`` stands once team-mash has committed past it.

    The router writes ``value`` to route.mash; team-mash reads it as its own group.
    """
    await produce(secured.as_("router"), "route.mash", value, transactional_id=transactional_id)
    mash = secured.as_("team-mash")
    consumer, tp, offset = await read_until(mash, "route.mash", value, group="team-mash")
    try:
        with kafka_errors("committing"):
            await consumer.commit({tp: offset + 1})
    finally:
        await consumer.stop()
    return mash, tp, offset


def unique() -> bytes:
    return uuid.uuid4().hex.encode()


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30) -> None:
    """Wait (bounded) until ``check`` holds: the broker's caches follow the metadata log."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"not within {timeout_s}s"
        await asyncio.sleep(0.2)


def acl_command(secured: Secured, *args: str) -> str:
    """Run Kafka's own AclCommand as the super user; return what it prints."""
    java = shutil.which("java")
    assert java is not None
    done = subprocess.run(
        [
            java,
            f"-Dlog4j2.configurationFile={TOOLS_LOG4J}",
            "-cp",
            secured.broker.classpath(),
            "org.apache.kafka.tools.AclCommand",
            "--bootstrap-server",
            f"127.0.0.1:{secured.settings.port}",
            "--command-config",
            str(secured.broker.admin_properties_file),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class TestApply:
    async def test_first_apply_issued_every_credential_and_acl(self, secured: Secured) -> None:
        """Every principal but the super user got a stored password and its ACLs."""
        desired = acl_bindings(secured.principals, secured.admin)
        for change in secured.first:
            if change.principal == "admin":
                assert change.credential == "super user"
                continue
            assert change.credential == "created"
            mine = {b for b in desired if b.principal == f"User:{change.principal}"}
            assert set(change.added) == mine
            path = secured.store.path(change.principal)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        async with KafkaSecurityAdmin(secured.admin) as admin:
            users = await admin.scram_users()
        assert all(users[p.name] == {"SCRAM-SHA-256": 8192} for p in secured.principals[1:])

    async def test_second_apply_changes_nothing(self, secured: Secured) -> None:
        """Applied again, nothing changes and the broker holds exactly the file's ACLs."""
        async with KafkaSecurityAdmin(secured.admin) as admin:
            before = await admin.describe_acls()
        changes = await apply_security(secured.principals, secured.admin, secured.store)
        assert [c for c in changes if c.changed] == []
        async with KafkaSecurityAdmin(secured.admin) as admin:
            after = await admin.describe_acls()
        assert after == before
        assert after >= acl_bindings(secured.principals, secured.admin)

    async def test_rotation_locks_out_the_old_password(self, secured: Secured) -> None:
        """After rotate the old password is refused and the new one accepted."""
        name = "policy-simulate"
        old = secured.as_(name)
        await rotate_credential(secured.principal(name), secured.admin, secured.store)
        assert await can_authenticate(secured.as_(name))
        assert not await can_authenticate(old)

    async def test_lost_or_wrong_password_is_reset_or_repaired(self, secured: Secured) -> None:
        """A lost password is replaced; a stored one the broker rejects is re-sent."""
        name = "policy-simulate"
        secured.store.path(name).unlink()
        changes = {c.principal: c for c in await apply_security(*self.args(secured))}
        assert changes[name].credential == "reset"
        assert [c.principal for c in changes.values() if c.changed] == [name]
        secured.store.put(name, SecretStr("not-what-the-broker-has"))
        changes = {c.principal: c for c in await apply_security(*self.args(secured))}
        assert changes[name].credential == "repaired"
        assert await can_authenticate(secured.as_(name))

    async def test_prune_removes_only_ungranted_acls_in_this_prefix(self, secured: Secured) -> None:
        """An ACL the file does not grant goes with --prune; another prefix's stays."""

        def extra(prefix: str) -> AclBinding:
            return AclBinding(
                ResourceType.TOPIC,
                f"{prefix}hub.dlq",
                PatternType.LITERAL,
                "User:policy-simulate",
                Operation.READ,
            )

        async with KafkaSecurityAdmin(secured.admin) as admin:
            await admin.create_acls({extra(PREFIX), extra("other.")})
        kept = await apply_security(*self.args(secured))
        assert not any(c.changed for c in kept)
        pruned = {c.principal: c for c in await apply_security(*self.args(secured), prune=True)}
        assert pruned["policy-simulate"].removed == (extra(PREFIX),)
        async with KafkaSecurityAdmin(secured.admin) as admin:
            held = await admin.describe_acls()
            assert extra(PREFIX) not in held
            assert extra("other.") in held
            await admin.delete_acls({extra("other.")})

    def test_cli_apply_is_idempotent_and_credentials_print_env_lines(
        self, secured: Secured
    ) -> None:
        """`hub security apply` as the local broker's admin changes nothing the 2nd time."""
        env = {
            "PATH": os.environ["PATH"],
            "HUB_BROKER__SASL": "true",
            "HUB_BROKER__STATE_DIR": str(secured.settings.state_dir),
            "HUB_BROKER__PORT": str(secured.settings.port),
            "HUB_BROKER__CONTROLLER_PORT": str(secured.settings.controller_port),
            "HUB_KAFKA__TOPIC_PREFIX": PREFIX,
            "HUB_LOGGING__JSON_OUTPUT": "false",
        }
        secrets = ["--secrets-dir", str(secured.store.directory)]
        cli = [sys.executable, "-c", "from hub.cli.security import app; app()"]
        done = subprocess.run(
            [*cli, "apply", *secrets], capture_output=True, text=True, env=env, check=False
        )
        assert done.returncode == 0, done.stderr
        rows = [line for line in done.stdout.splitlines() if "connector-" in line]
        # The four connectors, and education and probation (they answer agency checks).
        assert len(rows) == 6
        assert all("unchanged" in row for row in rows)
        assert "created" not in done.stdout
        for principal in secured.principals[1:]:
            secret = secured.store.require(principal.name).get_secret_value()
            assert secret not in done.stdout + done.stderr
        shown = subprocess.run(
            [*cli, "credentials", "connector-police", *secrets],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        police = secured.store.require("connector-police")
        assert shown.stdout == credential_env("connector-police", police)

    @staticmethod
    def args(secured: Secured) -> tuple[list[Principal], KafkaSettings, SecretStore]:
        return secured.principals, secured.admin, secured.store


class TestAdminClient:
    async def test_scram_credentials_are_upserted_described_and_deleted(
        self, secured: Secured
    ) -> None:
        """Both mechanisms are written and listed, the password logs in, deletion locks out."""
        user, password = "sec-probe", SecretStr("probe-password")
        probe = secured.admin.model_copy(update={"username": user, "password": password})
        async with KafkaSecurityAdmin(secured.admin) as admin:
            # The broker takes one alteration per user and request.
            await admin.alter_scram([scram_credential(user, password)])
            await admin.alter_scram([scram_credential(user, password, "SCRAM-SHA-512", 4096)])

            async def listed() -> bool:
                users = await admin.scram_users()
                return users.get(user) == {"SCRAM-SHA-256": 8192, "SCRAM-SHA-512": 4096}

            await eventually(listed)
            await eventually(lambda: can_authenticate(probe))
            await admin.alter_scram([], [(user, "SCRAM-SHA-256")])
            await admin.alter_scram([], [(user, "SCRAM-SHA-512")])

            async def gone() -> bool:
                return user not in await admin.scram_users()

            await eventually(gone)
            with pytest.raises(KafkaError, match="ResourceNotFound"):
                await admin.alter_scram([], [(user, "SCRAM-SHA-256")])

        async def refused() -> bool:
            return not await can_authenticate(probe)

        await eventually(refused)

    async def test_a_bad_password_is_refused_as_not_authorised(self, secured: Secured) -> None:
        """Opening the admin with a wrong password fails at once as KafkaAuthorizationError."""
        impostor = secured.admin.model_copy(update={"password": SecretStr("guessed")})
        with pytest.raises(KafkaAuthorizationError, match="Authentication"):
            async with KafkaSecurityAdmin(impostor):
                pass

    async def test_acls_are_created_listed_by_principal_and_deleted_exactly(
        self, secured: Secured
    ) -> None:
        """Creating twice changes nothing; deleting removes exactly the bindings named."""
        who = "User:sec-probe"
        read, write = (
            AclBinding(ResourceType.TOPIC, f"{PREFIX}probe", PatternType.LITERAL, who, op)
            for op in (Operation.READ, Operation.WRITE)
        )
        group = AclBinding(
            ResourceType.GROUP, f"{PREFIX}probe-", PatternType.PREFIXED, who, Operation.READ
        )
        async with KafkaSecurityAdmin(secured.admin) as admin:

            def holds(expected: set[AclBinding]) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    return await admin.describe_acls(who) == expected

                return check

            await admin.create_acls({read, write, group})
            await admin.create_acls({read})
            await eventually(holds({read, write, group}))
            await admin.delete_acls({read, group})
            await eventually(holds({write}))
            await admin.delete_acls({write})
            await eventually(holds(set()))
            assert not await admin.describe_acls(who)


class TestShortfall:
    async def test_acls_librdkafka_cannot_read_are_left_out_with_a_warning(
        self, secured: Secured
    ) -> None:
        """A CreateTokens ACL on a User resource reads as "unknown": skipped, warned, kept."""
        who = "User:policy-simulate"
        acl = ["--allow-principal", who, "--operation", "CreateTokens", "--user-principal", who]
        await asyncio.to_thread(acl_command, secured, "--add", *acl)
        try:
            mine = {
                b for b in acl_bindings(secured.principals, secured.admin) if b.principal == who
            }
            with capture_logs() as logs:
                async with KafkaSecurityAdmin(secured.admin) as admin:
                    assert await admin.describe_acls(who) == mine
            assert {"event": "acl_not_readable", "principal": who} in [
                {k: e.get(k) for k in ("event", "principal")} for e in logs
            ]
            changes = await apply_security(*TestApply.args(secured), prune=True)
            assert not any(c.changed for c in changes)
            listed = await asyncio.to_thread(acl_command, secured, "--list", "--principal", who)
            assert "operation=CREATE_TOKENS" in listed
        finally:
            await asyncio.to_thread(acl_command, secured, "--remove", "--force", *acl)


class TestRefused:
    async def test_partner_cannot_write_another_partners_inbound(self, secured: Secured) -> None:
        """connector-police writing partner.health.inbound: TopicAuthorizationFailed."""
        police = secured.as_("connector-police")
        with pytest.raises(KafkaAuthorizationError, match="TopicAuthorizationFailed"):
            await produce(police, "partner.health.inbound", unique())
        assert await log_says(
            secured.broker,
            "Principal = User:connector-police is Denied operation = DESCRIBE from host = "
            f"127.0.0.1 on resource = Topic:LITERAL:{PREFIX}partner.health.inbound",
        )

    async def test_partner_cannot_use_another_partners_transactional_id(
        self, secured: Secured
    ) -> None:
        """connector-police cannot open the health connector's transactions."""
        police = secured.as_("connector-police")
        with pytest.raises(KafkaAuthorizationError, match="TransactionalIdAuthorizationFailed"):
            await produce(
                police, "partner.police.inbound", unique(), transactional_id="connector-health-0"
            )

    async def test_team_cannot_read_another_teams_route(self, secured: Secured) -> None:
        """team-lado reading route.mash with its own group is refused."""
        lado = secured.as_("team-lado")
        with pytest.raises(KafkaAuthorizationError, match="TopicAuthorizationFailed"):
            await read_until(lado, "route.mash", unique(), group="team-lado")
        assert await log_says(
            secured.broker,
            f"Principal = User:team-lado is Denied operation = DESCRIBE from host = 127.0.0.1 "
            f"on resource = Topic:LITERAL:{PREFIX}route.mash",
        )

    async def test_team_cannot_join_another_teams_group(self, secured: Secured) -> None:
        """team-mash cannot consume as group team-lado (and so steal its offsets)."""
        mash = secured.as_("team-mash")
        with pytest.raises(KafkaAuthorizationError, match="GroupAuthorizationFailed"):
            await read_until(mash, "route.mash", unique(), group="team-lado")

    async def test_router_cannot_write_an_inbound_topic(self, secured: Secured) -> None:
        """The router may read partner.police.inbound but a write there is refused."""
        router = secured.as_("router")
        with pytest.raises(KafkaAuthorizationError, match="TopicAuthorizationFailed"):
            await produce(
                router, "partner.police.inbound", unique(), transactional_id="router-task-0"
            )
        assert await log_says(
            secured.broker,
            "Principal = User:router is Denied operation = WRITE from host = 127.0.0.1 on "
            f"resource = Topic:LITERAL:{PREFIX}partner.police.inbound",
        )

    async def test_a_partner_reads_no_agency_check(self, secured: Secured) -> None:
        """connector-police (and education) cannot read hub.checks: only the index can."""
        for who in ("connector-police", "connector-education"):
            with pytest.raises(KafkaAuthorizationError):
                await read_until(secured.as_(who), "hub.checks", unique(), group="team-mash-checks")

    async def test_only_the_mash_asks_checks(self, secured: Secured) -> None:
        """A partner, another team or the index cannot write hub.checks."""
        for who in ("connector-police", "team-lado", "checks-index"):
            with pytest.raises(KafkaAuthorizationError):
                await produce(secured.as_(who), "hub.checks", unique())

    async def test_answers_flow_partner_to_mash(self, secured: Secured) -> None:
        """connector-education answers in its own transaction; team-mash reads it."""
        value = unique()
        await produce(
            secured.as_("connector-education"),
            "hub.check-responses",
            value,
            transactional_id="check-answers-education-0",
        )
        mash = secured.as_("team-mash")
        consumer, _tp, _offset = await read_until(
            mash, "hub.check-responses", value, group="team-mash-checks"
        )
        await consumer.stop()
        with pytest.raises(KafkaAuthorizationError, match="TransactionalIdAuthorizationFailed"):
            await produce(
                secured.as_("connector-education"),
                "hub.check-responses",
                unique(),
                transactional_id="check-answers-police-0",
            )

    async def test_monitor_cannot_write(self, secured: Secured) -> None:
        """The monitor only observes: writing hub.decisions is refused."""
        with pytest.raises(KafkaAuthorizationError):
            await produce(secured.as_("monitor"), "hub.decisions", unique())

    async def test_a_component_cannot_grant_itself_more(self, secured: Secured) -> None:
        """Only the super user changes ACLs or credentials; team-mash is refused both."""
        grab = AclBinding(
            ResourceType.TOPIC,
            f"{PREFIX}route.lado",
            PatternType.LITERAL,
            "User:team-mash",
            Operation.READ,
        )
        async with KafkaSecurityAdmin(secured.as_("team-mash")) as admin:
            with pytest.raises(KafkaAuthorizationError, match="ClusterAuthorizationFailed"):
                await admin.create_acls({grab})
            with pytest.raises(KafkaAuthorizationError, match="ClusterAuthorizationFailed"):
                await admin.alter_scram([scram_credential("team-lado", SecretStr("taken-over"))])
        async with KafkaSecurityAdmin(secured.admin) as admin:
            assert grab not in await admin.describe_acls()

    async def test_plaintext_client_cannot_connect(self, secured: Secured) -> None:
        """A client without SASL (anonymous) gets no connection at all."""
        anonymous = secured.admin.model_copy(
            update={"security_protocol": "PLAINTEXT", "username": None, "password": None}
        )
        with pytest.raises(KafkaUnavailableError):
            async with KafkaAdmin(anonymous) as admin:
                await admin.list_topics()
        assert not await can_authenticate(anonymous)

    async def test_anonymous_client_on_the_controller_port_is_refused(
        self, secured: Secured
    ) -> None:
        """The controller listener authenticates too: no anonymous admin backdoor."""
        controller = secured.admin.model_copy(
            update={
                "bootstrap_servers": f"127.0.0.1:{secured.settings.controller_port}",
                "security_protocol": "PLAINTEXT",
                "username": None,
                "password": None,
            }
        )
        with pytest.raises(KafkaUnavailableError):
            async with KafkaAdmin(controller) as admin:
                await admin.list_topics()

    @pytest.mark.parametrize("user", ["connector-police", "nobody"])
    async def test_wrong_password_or_unknown_user_is_refused(
        self, secured: Secured, user: str
    ) -> None:
        """Bad credentials fail authentication; the broker logs why."""
        impostor = secured.admin.model_copy(
            update={"username": user, "password": SecretStr("guessed")}
        )
        with pytest.raises(KafkaUnavailableError):
            await produce(impostor, "partner.police.inbound", unique())
        assert await log_says(
            secured.broker,
            "Authentication failed during authentication due to invalid credentials with "
            "SASL mechanism SCRAM-SHA-256",
        )


class TestAllowed:
    async def test_connector_writes_its_inbound_in_a_transaction(self, secured: Secured) -> None:
        """connector-police commits a record to partner.police.inbound; the ledger reads it."""
        police = secured.as_("connector-police")
        value = unique()
        await produce(
            police, "partner.police.inbound", value, transactional_id="connector-police-1"
        )
        consumer, _tp, _offset = await read_until(police, "partner.police.inbound", value)
        await consumer.stop()

    async def test_router_reads_inbound_and_writes_a_route_exactly_once(
        self, secured: Secured
    ) -> None:
        """The router consumes in its group and writes route.mash plus offsets in one txn."""
        value = unique()
        await produce(secured.as_("connector-police"), "partner.police.inbound", value)
        router = secured.as_("router")
        consumer, tp, offset = await read_until(
            router, "partner.police.inbound", value, group="router"
        )
        await consumer.stop()
        producer = make_producer(router, "sec-router", transactional_id="router-task-7")
        async with running(producer, "starting the router's producer"):
            with kafka_errors("routing in a transaction"):
                async with producer.transaction():
                    await producer.send(router.topic("route.mash"), value, key=b"subject")
                    await producer.send_and_wait(router.topic("hub.decisions"), value)
                    await producer.send_offsets_to_transaction(
                        {tp: offset + 1}, router.group("router")
                    )
        async with KafkaAdmin(secured.admin) as admin:
            committed = await admin.committed_offsets(router.group("router"))
        assert committed[tp] == offset + 1
        consumer, _tp, _offset = await read_until(secured.admin, "route.mash", value)
        await consumer.stop()

    async def test_team_reads_its_route_with_its_group_and_writes_outcomes(
        self, secured: Secured
    ) -> None:
        """team-mash consumes route.mash as group team-mash, commits, writes team.outcomes."""
        value = unique()
        mash, _tp, _offset = await team_mash_commits(secured, value, "router-task-8")
        await produce(mash, "team.outcomes", value)

    async def test_monitor_lists_groups_offsets_and_reads_every_topic(
        self, secured: Secured
    ) -> None:
        """The monitor sees every group, its committed offsets and every topic's end."""
        value = unique()
        _mash, tp, offset = await team_mash_commits(secured, value, "router-task-9")
        monitor = secured.as_("monitor")
        async with KafkaAdmin(monitor) as admin:
            groups = await admin.list_groups()
            committed = await admin.committed_offsets(monitor.group("team-mash"))
            state, _members = await admin.describe_group(monitor.group("team-mash"))
            topics = sorted(t for t in await admin.list_topics() if t.startswith(PREFIX))
            states = await admin.describe(topics)
        assert monitor.group("team-mash") in groups
        assert committed[tp] == offset + 1
        assert state in {"Empty", "Stable", "PreparingRebalance", "CompletingRebalance"}
        assert len(topics) == len(
            load_topics_file(PROJECT_ROOT / "deploy" / "topics.yaml", "local")
        )
        every = [TopicPartition(t, p) for t in topics for p in range(states[t].partitions)]
        ends = await end_offsets(monitor, every)
        assert len(ends) == len(every)
        assert ends[tp] >= offset + 1
        consumer, _tp, _offset = await read_until(monitor, "route.mash", value)
        await consumer.stop()
