"""The adapter between the hub and Kafka's security admin APIs.

aiokafka 0.14 has request structures for CreateAcls, DescribeAcls and DeleteAcls but no
admin methods for them, and nothing at all for SCRAM credentials. This module adds the
few requests the hub needs on aiokafka's protocol framework and sends them with the admin
client's internal ``_send_request``:

- DescribeAcls v1 (aiokafka's), CreateAcls v1 and DeleteAcls v1 (aiokafka's structures,
  batched here); Kafka 4.1 accepts v1-3 of each.
- DescribeUserScramCredentials (API key 50) and AlterUserScramCredentials (API key 51),
  v0, flexible versions (compact strings and bytes, tagged fields). The salted password
  is computed here, client-side, as SCRAM defines it: PBKDF2-HMAC-SHA-256 of the
  password over a random salt; the password itself never leaves this process.

aiokafka ships no type information, so mypy sees its base classes as ``Any``; the
``type: ignore[misc]`` on each subclass says only that.

Every aiokafka error, and every error code in a response, is translated into the hub's
tree with :func:`hub.kafka.kafka_errors`; nothing outside this module and
:mod:`hub.kafka` catches an aiokafka exception.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Self, TypeAlias

import aiokafka.errors as ak_errors
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)
from pydantic import SecretStr

from hub.errors import KafkaError
from hub.kafka import client_options, kafka_errors
from hub.security.principals import AclBinding, Operation, PatternType, ResourceType
from hub.settings import KafkaSettings

__all__ = ["KafkaSecurityAdmin", "ScramCredential", "can_authenticate", "scram_credential"]

SCRAM_MECHANISMS = {"SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2}
"""Kafka's ``ScramMechanism`` wire values."""
_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
_MIN_ITERATIONS = 4096  # Kafka refuses fewer (ScramMechanism.minIterations)
_MAX_ITERATIONS = 16384  # and more (AlterUserScramCredentials' limit)
_ANY = 1  # filter value of DescribeAcls: matches every value of the field


# ---------------------------------------------------------------- SCRAM credentials
class _DescribeScramResponse(Response):  # type: ignore[misc]
    API_KEY = 50
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("error_message", CompactString("utf-8")),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                (
                    "credential_infos",
                    CompactArray(
                        ("mechanism", Int8), ("iterations", Int32), ("tags", TaggedFields)
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _DescribeScramStruct(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 50
    API_VERSION = 0
    RESPONSE_TYPE = _DescribeScramResponse
    SCHEMA = Schema(
        ("users", CompactArray(("name", CompactString("utf-8")), ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class DescribeUserScramCredentialsRequest(Request[_DescribeScramStruct]):  # type: ignore[misc]
    """Which SCRAM credentials exist; ``None`` describes every user."""

    API_KEY = 50

    def __init__(self, users: list[str] | None = None) -> None:
        self._users = users

    def build(self, request_struct_class: type[_DescribeScramStruct]) -> _DescribeScramStruct:
        users: list[tuple[str, dict[int, bytes]]] | None = None
        if self._users is not None:
            users = [(u, {}) for u in self._users]
        return request_struct_class(users, {})


class _AlterScramResponse(Response):  # type: ignore[misc]
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramStruct(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterScramResponse
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


@dataclass(frozen=True)
class ScramCredential:
    """What creating a credential sends: salt and salted password, never the password.

    The salted password is as good as the password for logging in, so it is kept out
    of ``repr`` (and of every log).
    """

    user: str
    mechanism: str
    iterations: int
    salt: bytes = field(repr=False)
    salted_password: bytes = field(repr=False)


def scram_credential(
    user: str,
    password: SecretStr,
    mechanism: str = "SCRAM-SHA-256",
    iterations: int = 8192,
    salt: bytes | None = None,
) -> ScramCredential:
    """Salt and hash ``password`` into SCRAM's SaltedPassword (RFC 5802 ``Hi()``).

    The broker stores only what it derives from this; a fresh random salt is used
    unless one is given (tests pass the RFC's).
    """
    if mechanism not in _HASHES:
        raise KafkaError(f"unknown SCRAM mechanism {mechanism}")
    if not _MIN_ITERATIONS <= iterations <= _MAX_ITERATIONS:
        raise KafkaError(f"SCRAM iterations must be within {_MIN_ITERATIONS}..{_MAX_ITERATIONS}")
    salt = os.urandom(32) if salt is None else salt
    salted = hashlib.pbkdf2_hmac(
        _HASHES[mechanism], password.get_secret_value().encode(), salt, iterations
    )
    return ScramCredential(user, mechanism, iterations, salt, salted)


class AlterUserScramCredentialsRequest(Request[_AlterScramStruct]):  # type: ignore[misc]
    """Create or replace (upsert) and delete SCRAM credentials."""

    API_KEY = 51

    def __init__(self, upsertions: list[ScramCredential], deletions: list[tuple[str, str]]) -> None:
        self._upsertions = upsertions
        self._deletions = deletions

    def build(self, request_struct_class: type[_AlterScramStruct]) -> _AlterScramStruct:
        deletions: list[tuple[str, int, dict[int, bytes]]] = [
            (user, SCRAM_MECHANISMS[mech], {}) for user, mech in self._deletions
        ]
        upsertions: list[tuple[str, int, int, bytes, bytes, dict[int, bytes]]] = [
            (c.user, SCRAM_MECHANISMS[c.mechanism], c.iterations, c.salt, c.salted_password, {})
            for c in self._upsertions
        ]
        return request_struct_class(deletions, upsertions, {})


# ---------------------------------------------------------------- ACLs
_AclRow: TypeAlias = tuple[int, str, int, str, str, int, int]


def _row(binding: AclBinding) -> _AclRow:
    return (
        int(binding.resource_type),
        binding.resource_name,
        int(binding.pattern_type),
        binding.principal,
        binding.host,
        int(binding.operation),
        binding.permission,
    )


class CreateAclsRequest(Request[CreateAclsRequest_v1]):  # type: ignore[misc]
    """Create many ACLs in one request (aiokafka's own takes one)."""

    API_KEY = 30

    def __init__(self, bindings: Collection[AclBinding]) -> None:
        self._rows = [_row(b) for b in sorted(bindings)]

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self._rows)


class DeleteAclsRequest(Request[DeleteAclsRequest_v1]):  # type: ignore[misc]
    """Delete many ACLs, each matched exactly, in one request."""

    API_KEY = 31

    def __init__(self, bindings: Collection[AclBinding]) -> None:
        self._rows = [_row(b) for b in sorted(bindings)]

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(self._rows)


# ---------------------------------------------------------------- the admin
class KafkaSecurityAdmin:
    """Kafka's ACL and SCRAM admin operations, with errors translated."""

    def __init__(self, settings: KafkaSettings, client_id: str = "hub-security") -> None:
        self._client = AIOKafkaAdminClient(**client_options(settings, client_id))

    async def __aenter__(self) -> Self:
        with kafka_errors("connecting the security admin client"):
            await self._client.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()

    async def describe_acls(self, principal: str | None = None) -> set[AclBinding]:
        """Every ACL (of ``principal`` when given) that the broker holds."""
        request = DescribeAclsRequest(_ANY, None, _ANY, principal, None, _ANY, _ANY)
        response = await self._send(request, "describing ACLs")
        _check(response.error_code, response.error_message, "describing ACLs")
        found: set[AclBinding] = set()
        for rtype, rname, ptype, acls in response.resources:
            found.update(_binding((rtype, rname, ptype), tuple(acl)) for acl in acls)
        return found

    async def create_acls(self, bindings: Collection[AclBinding]) -> None:
        """Create ``bindings``; an existing one is left as it is."""
        if not bindings:
            return
        response = await self._send(CreateAclsRequest(bindings), "creating ACLs")
        for code, message in response.creation_responses:
            _check(code, message, "creating ACLs")

    async def delete_acls(self, bindings: Collection[AclBinding]) -> None:
        """Delete exactly ``bindings``."""
        if not bindings:
            return
        response = await self._send(DeleteAclsRequest(bindings), "deleting ACLs")
        for code, message, matching in response.filter_responses:
            _check(code, message, "deleting ACLs")
            for entry in matching:
                _check(entry[0], entry[1], "deleting ACLs")

    async def scram_users(self) -> dict[str, dict[str, int]]:
        """Each user with SCRAM credentials: mechanism name -> iterations."""
        action = "describing SCRAM credentials"
        response = await self._send(DescribeUserScramCredentialsRequest(None), action)
        _check(response.error_code, response.error_message, action)
        names = {v: k for k, v in SCRAM_MECHANISMS.items()}
        users: dict[str, dict[str, int]] = {}
        for user, code, message, infos, _tags in response.results:
            _check(code, message, f"{action} of {user}")
            users[user] = {names.get(m, str(m)): iterations for m, iterations, _t in infos}
        return users

    async def alter_scram(
        self,
        upsertions: list[ScramCredential],
        deletions: list[tuple[str, str]] | None = None,
    ) -> None:
        """Upsert credentials and delete ``(user, mechanism)`` credentials."""
        if not upsertions and not deletions:
            return
        action = "altering SCRAM credentials"
        request = AlterUserScramCredentialsRequest(upsertions, deletions or [])
        response = await self._send(request, action)
        for user, code, message, _tags in response.results:
            _check(code, message, f"{action} of {user}")

    async def _send(self, request: Request[Any], action: str) -> Any:
        with kafka_errors(action):
            return await self._client._send_request(request)  # noqa: SLF001 -- aiokafka has no public call for these APIs


async def can_authenticate(settings: KafkaSettings) -> bool:
    """Whether ``settings``' credentials are accepted now (a fresh connection each time)."""
    client = AIOKafkaAdminClient(**client_options(settings, "hub-security-login"))
    try:
        await client.start()
    except (ak_errors.KafkaError, OSError, TimeoutError):
        return False
    finally:
        await client.close()
    return True


def _binding(resource: tuple[int, str, int], acl: tuple[str, str, int, int]) -> AclBinding:
    """One DescribeAcls (resource type, name, pattern) and (principal, host, op, permission)."""
    (rtype, rname, ptype), (who, host, operation, permission) = resource, acl
    try:
        return AclBinding(
            ResourceType(rtype),
            rname,
            PatternType(ptype),
            who,
            Operation(operation),
            host,
            permission,
        )
    except ValueError as exc:
        raise KafkaError(
            f"the broker holds an ACL this hub does not know (resource type {rtype}, "
            f"{rname!r}, pattern {ptype}, operation {operation}); inspect it with AclCommand"
        ) from exc


def _check(code: int, message: str | None, action: str) -> None:
    """Raise the hub's error for a non-zero error code in a response."""
    if not code:
        return
    error = ak_errors.for_code(code)
    detail = message or error.description
    if error is ak_errors.SecurityDisabled:
        raise KafkaError(f"{action}: the broker has no authorizer (is it running with SASL?)")
    with kafka_errors(action):
        raise error(detail)
