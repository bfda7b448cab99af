from __future__ import annotations

import copy
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from hub.broker.topics import load_topics_file
from hub.errors import KeyMaterialError
from hub.security.passwords import SecretStore, credential_env, principal_settings
from hub.security.principals import (
    CLUSTER_NAME,
    AclBinding,
    Operation,
    PatternType,
    Principal,
    PrincipalsFileError,
    ResourceType,
    acl_bindings,
    known_principals,
    load_principals_file,
    resolve_principals,
)
from hub.settings import PROJECT_ROOT, KafkaSettings
from schemas.common import Area, Partner
from tests.deploy_files import load_yaml, named

PRINCIPALS_FILE = PROJECT_ROOT / "deploy" / "principals.yaml"
TOPICS = [s.name for s in load_topics_file(PROJECT_ROOT / "deploy" / "topics.yaml", "local")]
READ, WRITE, DESCRIBE = Operation.READ, Operation.WRITE, Operation.DESCRIBE
TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP


@pytest.fixture(scope="module")
def shipped() -> dict[str, Principal]:
    return {p.name: p for p in load_principals_file(PRINCIPALS_FILE, TOPICS)}


@pytest.fixture
def raw() -> dict[str, Any]:
    return load_yaml(PRINCIPALS_FILE)


def entry(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return named(raw["principals"], name)


def holders(
    principals: dict[str, Principal], rtype: ResourceType, name: str, op: Operation
) -> set[str]:
    """Names of the principals granted ``op`` on the logical resource ``name``."""
    return {
        p.name
        for p in principals.values()
        if any(g.resource_type is rtype and g.name == name and g.operation is op for g in p.grants)
    }


class TestTheProjectsPrincipalsFile:
    def test_one_principal_per_component(self, shipped: dict[str, Principal]) -> None:
        """Four connectors, the router, a team per area, the monitor, simulate and admin."""
        assert set(shipped) == known_principals()
        assert {f"team-{a.value}" for a in Area} <= set(shipped)
        assert {f"connector-{p.value}" for p in Partner} <= set(shipped)
        assert [p.name for p in shipped.values() if p.super_user] == ["admin"]
        assert shipped["admin"].grants == ()

    @pytest.mark.parametrize("partner", list(Partner))
    def test_only_a_partners_connector_writes_its_inbound(
        self, shipped: dict[str, Principal], partner: Partner
    ) -> None:
        """DESIGN.md section 10: a connector may write only its partner's inbound topic."""
        topic = f"partner.{partner.value}.inbound"
        assert holders(shipped, TOPIC, topic, WRITE) == {f"connector-{partner.value}"}
        connector = shipped[f"connector-{partner.value}"]
        written = {g.name for g in connector.grants if g.operation is WRITE}
        # ... and answer agency checks (DESIGN.md section 17), in its own transactions.
        assert written == {
            topic,
            f"connector-{partner.value}-",
            "hub.check-responses",
            f"check-answers-{partner.value}-",
        }

    @pytest.mark.parametrize("partner", ["education", "probation"])
    def test_a_partner_without_a_system_only_answers_checks(
        self, shipped: dict[str, Principal], partner: str
    ) -> None:
        """Education and probation write their answers and read nothing at all."""
        principal = shipped[f"connector-{partner}"]
        assert {(g.name, g.operation) for g in principal.grants} == {
            ("hub.check-responses", WRITE),
            (f"check-answers-{partner}-", WRITE),
        }

    def test_no_partner_reads_checks_only_the_index_and_the_mash(
        self, shipped: dict[str, Principal]
    ) -> None:
        """A partner's principal reads no check: the ingest's index principal reads them all."""
        assert holders(shipped, TOPIC, "hub.checks", READ) == {
            "checks-index",
            "team-mash",
            "monitor",
        }
        assert holders(shipped, TOPIC, "hub.check-responses", READ) == {
            "checks-index",
            "team-mash",
            "monitor",
        }
        assert holders(shipped, TOPIC, "hub.checks", WRITE) == {"team-mash"}
        assert {g.operation for g in shipped["checks-index"].grants} == {READ}

    @pytest.mark.parametrize("area", list(Area))
    def test_a_team_reads_only_its_own_route(
        self, shipped: dict[str, Principal], area: Area
    ) -> None:
        """A team reads only route.<area> with group team-<area>, writes outcomes and notes."""
        team = shipped[f"team-{area.value}"]
        # The MASH also asks agency checks and reads the answers (DESIGN.md section 17).
        checks = {
            (TOPIC, "hub.checks", WRITE),
            (TOPIC, "hub.checks", READ),
            (TOPIC, "hub.check-responses", READ),
            (GROUP, "team-mash-checks", READ),
            (ResourceType.TRANSACTIONAL_ID, "checks-mash-", WRITE),
        }
        assert {(g.resource_type, g.name, g.operation) for g in team.grants} == {
            (TOPIC, f"route.{area.value}", READ),
            (TOPIC, "team.outcomes", WRITE),
            (TOPIC, "hub.dlq", WRITE),
            (GROUP, f"team-{area.value}", READ),
        } | (checks if area is Area.MASH else set())
        assert holders(shipped, TOPIC, f"route.{area.value}", READ) == {
            f"team-{area.value}",
            "monitor",
        }

    def test_only_the_router_writes_routes_and_hub_records(
        self, shipped: dict[str, Principal]
    ) -> None:
        """The router writes route.* and hub.*; nobody else does (teams note refusals).

        Replays of dead letters are recorded by the operator's replay alone.
        """
        teams = {f"team-{a.value}" for a in Area}
        for topic in TOPICS:
            if topic == "hub.dlq":
                assert holders(shipped, TOPIC, topic, WRITE) == {"router"} | teams
            elif topic == "hub.dlq-replays":
                # Only an operator's replay (the admin credential) records replays.
                assert holders(shipped, TOPIC, topic, WRITE) == set()
            elif topic in {"hub.checks", "hub.check-responses"}:
                continue  # agency checks: see test_no_partner_reads_checks_only_the_index
            elif topic.startswith(("route.", "hub.")):
                assert holders(shipped, TOPIC, topic, WRITE) == {"router"}, topic
        router = shipped["router"]
        assert not any(
            g.name.startswith("partner.") and g.operation is WRITE for g in router.grants
        )

    def test_only_the_router_writes_routed_ids_and_checkpoints(
        self, shipped: dict[str, Principal]
    ) -> None:
        """Only the router writes them; it and the monitor (so `hub audit verify`) read them."""
        for topic in ("hub.routed-ids", "hub.audit-checkpoints"):
            assert holders(shipped, TOPIC, topic, WRITE) == {"router"}
            assert holders(shipped, TOPIC, topic, READ) == {"router", "monitor"}

    def test_monitor_reads_and_describes_but_never_writes(
        self, shipped: dict[str, Principal]
    ) -> None:
        """The monitor reads every topic, describes every group and the cluster."""
        monitor = shipped["monitor"]
        ops = {(g.resource_type, g.name): g.operation for g in monitor.grants}
        assert all(ops[(TOPIC, t)] is READ for t in TOPICS)
        assert ops[(ResourceType.CLUSTER, CLUSTER_NAME)] is DESCRIBE
        groups = {g.name for g in monitor.grants if g.resource_type is GROUP}
        assert groups == {"router", "team-mash-checks"} | {f"team-{a.value}" for a in Area}
        assert {g.operation for g in monitor.grants} == {READ, DESCRIBE}

    def test_no_principal_needs_idempotent_write(self, shipped: dict[str, Principal]) -> None:
        """Kafka 3+ lets Write on any topic stand in for IdempotentWrite (KIP-679)."""
        assert not any(
            g.operation is Operation.IDEMPOTENT_WRITE for p in shipped.values() for g in p.grants
        )

    def test_transactional_ids_are_prefixed_per_component(
        self, shipped: dict[str, Principal]
    ) -> None:
        """Only connectors and the router hold transactional ids, each its own prefix."""
        txn = {
            p.name: {g.name for g in p.grants if g.resource_type is ResourceType.TRANSACTIONAL_ID}
            for p in shipped.values()
        }
        assert txn["router"] == {"router-task-"}
        assert txn["connector-police"] == {"connector-police-", "check-answers-police-"}
        assert txn["team-mash"] == {"checks-mash-"}
        assert all(
            not v for k, v in txn.items() if k.startswith(("team-", "monitor")) and k != "team-mash"
        )


class TestBindings:
    def test_prefix_is_applied_to_topics_groups_and_transactional_ids(
        self, shipped: dict[str, Principal]
    ) -> None:
        """Physical names carry the deployment prefix, as the clients use them."""
        kafka = KafkaSettings(topic_prefix="t1.")
        bindings = acl_bindings([shipped["router"], shipped["monitor"]], kafka)
        assert (
            AclBinding(TOPIC, "t1.route.mash", PatternType.LITERAL, "User:router", WRITE)
            in bindings
        )
        assert AclBinding(GROUP, "t1.router", PatternType.LITERAL, "User:router", READ) in bindings
        txn = AclBinding(
            ResourceType.TRANSACTIONAL_ID,
            "t1.router-task-",
            PatternType.PREFIXED,
            "User:router",
            WRITE,
        )
        assert txn in bindings
        cluster = [b for b in bindings if b.resource_type is ResourceType.CLUSTER]
        assert [b.resource_name for b in cluster] == [CLUSTER_NAME]
        assert all(b.host == "*" and b.permission == 3 for b in bindings)

    def test_super_user_has_no_acls(self, shipped: dict[str, Principal]) -> None:
        """The super user is allowed everything by the broker's super.users."""
        assert acl_bindings([shipped["admin"]], KafkaSettings()) == set()

    def test_binding_reads_like_acl_command(self) -> None:
        """A binding describes itself in one line."""
        binding = AclBinding(
            ResourceType.TRANSACTIONAL_ID, "x-", PatternType.PREFIXED, "User:router", WRITE
        )
        assert binding.describe() == "User:router Write transactional_id x- (prefixed)"
        assert Operation.DESCRIBE_CONFIGS.kafka_name == "DescribeConfigs"


class TestInvalidFiles:
    @pytest.mark.parametrize(
        ("principal", "section", "value", "match"),
        [
            # A typo in an entry is refused naming the entry and the field.
            pytest.param(
                "router", "topcis", {}, r"principals\[\d+\] \(router\): topcis", id="unknown field"
            ),
            # Least privilege: the wildcard operation All is refused.
            pytest.param(
                "monitor", "cluster", ["All"], r"\(monitor\): cluster: operation 'All'", id="All"
            ),
            # A group pattern is expanded over groups the file names; a typo matches none.
            pytest.param(
                "monitor",
                "groups",
                {"teams-*": ["Describe"]},
                r"\(monitor\): groups.teams-\*: matches no",
                id="unknown group",
            ),
            # Grants on the super user would mislead a reader.
            pytest.param(
                "admin",
                "topics",
                {"hub.dlq": ["Read"]},
                r"\(admin\): entry: .*super user",
                id="super user with grants",
            ),
        ],
    )
    def test_a_bad_section_names_the_entry(
        self, raw: dict[str, Any], principal: str, section: str, value: Any, match: str
    ) -> None:
        """A section of one entry replaced by a bad one is refused, naming the entry."""
        entry(raw, principal)[section] = value
        with pytest.raises(PrincipalsFileError, match=match):
            resolve_principals(raw, TOPICS)

    @pytest.mark.parametrize(
        ("principal", "grant", "operations", "match"),
        [
            # An operation Kafka does not have is refused, listing the allowed ones.
            pytest.param(
                "router",
                ("topics", "hub.dlq"),
                ["Wrtie"],
                r"\(router\): topics.hub.dlq: operation 'Wrtie' .*allowed: Alter, AlterConfigs",
                id="unknown operation",
            ),
            # Read on a transactional id means nothing to Kafka and is refused.
            pytest.param(
                "router",
                ("transactional_ids", "router-task-"),
                ["Read"],
                r"transactional_ids.router-task-: operation 'Read'",
                id="operation unfit for the resource",
            ),
            # A topic that deploy/topics.yaml does not declare is refused.
            pytest.param(
                "team-mash",
                ("topics", "route.mahs"),
                ["Read"],
                r"\(team-mash\): topics.route.mahs: unknown topic",
                id="unknown topic",
            ),
            # A topic pattern must stand for at least one declared topic.
            pytest.param(
                "router",
                ("topics", "routes.*"),
                ["Write"],
                r"topics.routes.\*: matches no topic",
                id="pattern matching no topic",
            ),
            # An entry granting nothing is a mistake, not a no-op.
            pytest.param(
                "router",
                ("groups", "router"),
                [],
                r"\(router\): groups.router: List should",
                id="empty operations",
            ),
        ],
    )
    def test_a_bad_grant_names_the_entry_and_resource(
        self,
        raw: dict[str, Any],
        principal: str,
        grant: tuple[str, str],
        operations: list[str],
        match: str,
    ) -> None:
        """One grant of one entry made bad is refused, naming the entry and the resource."""
        section, resource = grant
        entry(raw, principal)[section][resource] = operations
        with pytest.raises(PrincipalsFileError, match=match):
            resolve_principals(raw, TOPICS)

    def test_unknown_principal_is_refused(self, raw: dict[str, Any]) -> None:
        """A principal no component uses is refused with the known names."""
        entry(raw, "team-mash")["name"] = "team-mahs"
        with pytest.raises(PrincipalsFileError, match=r"\(team-mahs\): unknown principal.*router"):
            resolve_principals(raw, TOPICS)

    def test_missing_principal_is_refused(self, raw: dict[str, Any]) -> None:
        """Every component must have its principal."""
        raw["principals"].remove(entry(raw, "team-lado"))
        with pytest.raises(PrincipalsFileError, match="principal team-lado is missing"):
            resolve_principals(raw, TOPICS)

    def test_duplicate_principal_is_refused(self, raw: dict[str, Any]) -> None:
        """A principal declared twice is refused."""
        raw["principals"].append(copy.deepcopy(entry(raw, "monitor")))
        with pytest.raises(PrincipalsFileError, match=r"\(monitor\): duplicate principal"):
            resolve_principals(raw, TOPICS)

    def test_duplicate_yaml_key_is_refused(self, tmp_path: Path) -> None:
        """A topic listed twice in one mapping is refused, not silently merged."""
        text = PRINCIPALS_FILE.read_text().replace(
            "      hub.dlq: [Write]\n", "      hub.dlq: [Write]\n      hub.dlq: [Read]\n"
        )
        path = tmp_path / "principals.yaml"
        path.write_text(text)
        with pytest.raises(PrincipalsFileError, match=r"duplicate key 'hub\.dlq'"):
            load_principals_file(path, TOPICS)

    def test_missing_file_and_bad_yaml(self, tmp_path: Path) -> None:
        """File errors are configuration errors with the path."""
        with pytest.raises(PrincipalsFileError, match="not found"):
            load_principals_file(tmp_path / "nope.yaml", TOPICS)
        bad = tmp_path / "bad.yaml"
        bad.write_text("principals: [unclosed")
        with pytest.raises(PrincipalsFileError, match="not valid YAML"):
            load_principals_file(bad, TOPICS)


class TestSecrets:
    def test_passwords_are_private_files(self, tmp_path: Path) -> None:
        """The directory is 0700 and each password file 0600."""
        store = SecretStore(tmp_path / "kafka")
        store.put("router", SecretStr("s3cret"))
        assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
        assert stat.S_IMODE(store.path("router").stat().st_mode) == 0o600
        assert store.require("router").get_secret_value() == "s3cret"

    def test_missing_password_names_the_principal(self, tmp_path: Path) -> None:
        """Asking for a principal never issued fails with how to issue it."""
        with pytest.raises(KeyMaterialError, match=r"no Kafka password for monitor.*apply"):
            SecretStore(tmp_path).require("monitor")

    def test_principal_settings_only_with_sasl(self, tmp_path: Path) -> None:
        """Credentials are added to SASL settings; PLAINTEXT settings are left alone."""
        store = SecretStore(tmp_path)
        store.put("monitor", SecretStr("pw"))
        plain = KafkaSettings()
        assert principal_settings(plain, "monitor", store) is plain
        sasl = principal_settings(
            KafkaSettings(security_protocol="SASL_PLAINTEXT"), "monitor", store
        )
        assert sasl.username == "monitor"
        assert sasl.password is not None
        assert sasl.password.get_secret_value() == "pw"
        assert "pw" not in repr(sasl)

    def test_credential_env_lines(self) -> None:
        """The printed lines are exactly the two settings a process needs."""
        assert credential_env("router", SecretStr("x")) == (
            "HUB_KAFKA__USERNAME=router\nHUB_KAFKA__PASSWORD=x\n"
        )
