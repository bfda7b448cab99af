"""Principals as code: who may do what on Kafka, validated against the topics file.

``deploy/principals.yaml`` lists one SCRAM principal per component with the topics,
consumer groups, transactional-id prefixes and cluster operations it may use.
:func:`load_principals_file` refuses an invalid file naming the entry and the reason
(an unknown field, principal, operation or topic; a duplicate); :func:`acl_bindings`
turns the principals into the exact ACL bindings for one deployment's topic prefix.
Nothing here talks to Kafka.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import PrincipalsFileError
from hub.settings import KafkaSettings
from hub.yamlfile import describe_entry_error
from schemas.checks import CheckPartner
from schemas.common import Area, Partner


class ResourceType(IntEnum):
    """Kafka's ACL resource types (the wire values of ``ResourceType``)."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    """How an ACL's resource name matches (``PatternType``)."""

    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """Kafka's ACL operations (``AclOperation``); the file may grant only some of them."""

    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14
    TWO_PHASE_COMMIT = 15

    @property
    def kafka_name(self) -> str:
        """The name Kafka's tools print (``DescribeConfigs``)."""
        return self.name.title().replace("_", "")


ALLOW = 3
"""``AclPermissionType.ALLOW``; the file grants, it never denies."""
ANY_HOST = "*"
CLUSTER_NAME = "kafka-cluster"
"""The one name of the cluster resource."""

OPERATIONS_BY_NAME = {op.kafka_name: op for op in Operation}
_VALID: dict[ResourceType, frozenset[Operation]] = {
    ResourceType.TOPIC: frozenset(
        {
            Operation.READ,
            Operation.WRITE,
            Operation.CREATE,
            Operation.DELETE,
            Operation.ALTER,
            Operation.DESCRIBE,
            Operation.DESCRIBE_CONFIGS,
            Operation.ALTER_CONFIGS,
        }
    ),
    ResourceType.GROUP: frozenset({Operation.READ, Operation.DESCRIBE, Operation.DELETE}),
    ResourceType.TRANSACTIONAL_ID: frozenset({Operation.WRITE, Operation.DESCRIBE}),
    ResourceType.CLUSTER: frozenset(
        {
            Operation.CREATE,
            Operation.ALTER,
            Operation.DESCRIBE,
            Operation.CLUSTER_ACTION,
            Operation.DESCRIBE_CONFIGS,
            Operation.ALTER_CONFIGS,
            Operation.IDEMPOTENT_WRITE,
        }
    ),
}
_NAME = r"^[a-z][a-z0-9-]*[a-z0-9]$"


def known_principals() -> frozenset[str]:
    """Every principal name the hub's components use."""
    return frozenset(
        {"admin", "router", "monitor", "policy-simulate", "connectors-status", "checks-index"}
        | {f"connector-{p.value}" for p in Partner}
        | {f"connector-{p.value}" for p in CheckPartner}
        | {f"team-{a.value}" for a in Area}
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Operations = Annotated[list[str], Field(min_length=1)]


class PrincipalEntry(_Strict):
    """One principal as written in the file."""

    name: Annotated[str, Field(pattern=_NAME, max_length=100)]
    description: Annotated[str, Field(min_length=1)]
    super_user: bool = False
    topics: dict[str, Operations] = {}
    groups: dict[str, Operations] = {}
    transactional_ids: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9.-]*$")], Operations] = {}
    cluster: list[str] = []

    @model_validator(mode="after")
    def _super_user_has_no_grants(self) -> PrincipalEntry:
        if self.super_user and (
            self.topics or self.groups or self.transactional_ids or self.cluster
        ):
            msg = "a super user is allowed everything; list no grants for it"
            raise ValueError(msg)
        return self


class PrincipalsFile(_Strict):
    """The whole file."""

    principals: list[PrincipalEntry]


@dataclass(frozen=True, order=True)
class Grant:
    """One permission of a principal on a logical resource (no deployment prefix)."""

    resource_type: ResourceType
    name: str
    pattern_type: PatternType
    operation: Operation


@dataclass(frozen=True)
class Principal:
    """A principal after validation: its name and exactly what it may do."""

    name: str
    description: str
    super_user: bool
    grants: tuple[Grant, ...]

    @property
    def kafka_principal(self) -> str:
        """The principal as ACLs name it (``User:router``)."""
        return f"User:{self.name}"


@dataclass(frozen=True, order=True)
class AclBinding:
    """One ALLOW ACL exactly as the broker stores it."""

    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    principal: str
    operation: Operation
    host: str = ANY_HOST
    permission: int = ALLOW

    def describe(self) -> str:
        """A one-line human form: ``User:router Write topic route.mash``."""
        return f"{self.principal} {self.grant()}"

    def grant(self) -> str:
        """What the binding allows, without the principal: ``Write topic route.mash``."""
        pattern = "" if self.pattern_type is PatternType.LITERAL else " (prefixed)"
        kind = self.resource_type.name.lower()
        return f"{self.operation.kafka_name} {kind} {self.resource_name}{pattern}"


def load_principals_file(path: Path, topics: Iterable[str]) -> list[Principal]:
    """Read and validate the principals file; ``topics`` are the topics file's names."""
    try:
        raw = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 -- safe loader subclass
    except FileNotFoundError:
        raise PrincipalsFileError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise PrincipalsFileError(f"{path}: not valid YAML: {exc}") from exc
    return resolve_principals(raw, topics, source=str(path))


def resolve_principals(
    raw: Any, topics: Iterable[str], *, source: str = "principals file"
) -> list[Principal]:
    """Validate parsed YAML against the topic names and resolve every grant."""
    try:
        parsed = PrincipalsFile.model_validate(raw)
    except ValidationError as exc:
        raise PrincipalsFileError(
            f"{source}: {describe_entry_error(raw, exc, 'principals')}"
        ) from exc
    topic_names = sorted(set(topics))
    group_names = sorted({g for e in parsed.principals for g in e.groups if not _is_pattern(g)})
    known = known_principals()
    seen: set[str] = set()
    principals = []
    for index, entry in enumerate(parsed.principals):
        where = f"{source}: principals[{index}] ({entry.name})"
        if entry.name in seen:
            raise PrincipalsFileError(f"{where}: duplicate principal")
        if entry.name not in known:
            raise PrincipalsFileError(
                f"{where}: unknown principal (known: {', '.join(sorted(known))})"
            )
        seen.add(entry.name)
        try:
            grants = _grants(entry, topic_names, group_names)
        except ValueError as exc:
            raise PrincipalsFileError(f"{where}: {exc}") from None
        principals.append(Principal(entry.name, entry.description, entry.super_user, grants))
    missing = sorted(known - seen)
    if missing:
        raise PrincipalsFileError(f"{source}: principal {missing[0]} is missing")
    return principals


def _grants(entry: PrincipalEntry, topics: list[str], groups: list[str]) -> tuple[Grant, ...]:
    found: set[Grant] = set()
    literal, prefixed = PatternType.LITERAL, PatternType.PREFIXED
    for key, ops in entry.topics.items():
        for name in _expand(key, topics, "topic", "in the topics file"):
            found |= _each(ResourceType.TOPIC, name, literal, ops, f"topics.{key}")
    for key, ops in entry.groups.items():
        for name in _expand(key, groups, "group", "named in this file"):
            found |= _each(ResourceType.GROUP, name, literal, ops, f"groups.{key}")
    for key, ops in entry.transactional_ids.items():
        found |= _each(
            ResourceType.TRANSACTIONAL_ID, key, prefixed, ops, f"transactional_ids.{key}"
        )
    if entry.cluster:
        found |= _each(ResourceType.CLUSTER, CLUSTER_NAME, literal, entry.cluster, "cluster")
    return tuple(sorted(found))


def _expand(key: str, names: list[str], kind: str, where: str) -> list[str]:
    if not _is_pattern(key):
        if key not in names:
            raise ValueError(f"{kind}s.{key}: unknown {kind} (not {where})")
        return [key]
    matched = fnmatch.filter(names, key)
    if not matched:
        raise ValueError(f"{kind}s.{key}: matches no {kind} {where}")
    return matched


def _each(
    rtype: ResourceType, name: str, ptype: PatternType, ops: list[str], field: str
) -> set[Grant]:
    grants = set()
    for op_name in ops:
        op = OPERATIONS_BY_NAME.get(op_name)
        if op is None or op not in _VALID[rtype]:
            allowed = ", ".join(sorted(o.kafka_name for o in _VALID[rtype]))
            raise ValueError(
                f"{field}: operation {op_name!r} is unknown or not allowed on a "
                f"{rtype.name.lower().replace('_', ' ')} (allowed: {allowed})"
            )
        grants.add(Grant(rtype, name, ptype, op))
    return grants


def _is_pattern(name: str) -> bool:
    return any(c in name for c in "*?[")


def acl_bindings(principals: Iterable[Principal], kafka: KafkaSettings) -> set[AclBinding]:
    """The ACLs that grant ``principals`` their rights under ``kafka``'s topic prefix."""
    bindings = set()
    for principal in principals:
        for grant in principal.grants:
            bindings.add(
                AclBinding(
                    grant.resource_type,
                    _physical(grant, kafka),
                    grant.pattern_type,
                    principal.kafka_principal,
                    grant.operation,
                )
            )
    return bindings


def _physical(grant: Grant, kafka: KafkaSettings) -> str:
    if grant.resource_type is ResourceType.CLUSTER:
        return grant.name
    if grant.resource_type is ResourceType.GROUP:
        return kafka.group(grant.name)
    # Topics, and transactional ids as make_producer prefixes them.
    return kafka.topic(grant.name)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice (PyYAML keeps the last silently)."""


def _no_duplicate_keys(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _value in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicate_keys)
