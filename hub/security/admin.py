"""The adapter between the hub and Kafka's security admin APIs: ACLs and SCRAM credentials.

It drives confluent-kafka's ``AdminClient`` (librdkafka), which has every operation the
hub needs: CreateAcls, DescribeAcls and DeleteAcls, and Describe- and
AlterUserScramCredentials. For an upserted credential librdkafka computes the salted
password (PBKDF2 over a random salt made here, as SCRAM defines it) in this process and
sends only the salt and that: the password never reaches the broker.

The client's calls return :class:`concurrent.futures.Future` objects that librdkafka's
background thread resolves; they are awaited with :func:`asyncio.wrap_future`, and the
blocking close runs in a worker thread, so the event loop never waits on the client.
librdkafka's own log lines go to structlog at debug level (event ``kafka_client_log``),
never straight to stderr; they never hold the password.

Every confluent-kafka exception, and every broker refusal in a result, is translated
into the hub's tree by :func:`admin_errors`; nothing outside this module catches one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

import confluent_kafka
import structlog
from confluent_kafka import admin as ck
from pydantic import SecretStr

from hub.errors import KafkaAuthorizationError, KafkaError, KafkaUnavailableError
from hub.kafka import client_options
from hub.security.principals import AclBinding, Operation, PatternType, ResourceType
from hub.settings import KafkaSettings

__all__ = [
    "KafkaSecurityAdmin",
    "ScramCredential",
    "admin_errors",
    "can_authenticate",
    "client_config",
    "scram_credential",
]

log = structlog.get_logger("hub.security.admin")

_MECHANISMS = {
    "SCRAM-SHA-256": ck.ScramMechanism.SCRAM_SHA_256,
    "SCRAM-SHA-512": ck.ScramMechanism.SCRAM_SHA_512,
}
_MIN_ITERATIONS = 4096  # Kafka refuses fewer (ScramMechanism.minIterations)
_MAX_ITERATIONS = 16384  # and more (AlterUserScramCredentials' limit)

_Code = confluent_kafka.KafkaError
_AUTH_CODES = frozenset(
    {
        _Code.TOPIC_AUTHORIZATION_FAILED,
        _Code.GROUP_AUTHORIZATION_FAILED,
        _Code.CLUSTER_AUTHORIZATION_FAILED,
        _Code.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        _Code.SASL_AUTHENTICATION_FAILED,
        _Code._AUTHENTICATION,  # noqa: SLF001 -- librdkafka's local codes start with _
    }
)
_UNAVAILABLE_CODES = frozenset(
    {
        _Code._TRANSPORT,  # noqa: SLF001
        _Code._ALL_BROKERS_DOWN,  # noqa: SLF001
        _Code._RESOLVE,  # noqa: SLF001
        _Code._TIMED_OUT,  # noqa: SLF001
        _Code.REQUEST_TIMED_OUT,
        _Code.BROKER_NOT_AVAILABLE,
        _Code.NOT_CONTROLLER,
        _Code.KAFKA_STORAGE_ERROR,
    }
)
_LOGIN_FAILED = frozenset(
    {
        _Code._AUTHENTICATION,  # noqa: SLF001
        _Code.SASL_AUTHENTICATION_FAILED,
        _Code._ALL_BROKERS_DOWN,  # noqa: SLF001
    }
)
"""Errors librdkafka reports (through ``error_cb``) that no retry of this login will cure."""


# ---------------------------------------------------------------- errors
@contextmanager
def admin_errors(action: str) -> Iterator[None]:
    """Translate confluent-kafka exceptions raised inside the block into the hub's tree."""
    try:
        yield
    except confluent_kafka.KafkaException as exc:
        raise translate(_error_of(exc), action) from exc


def _error_of(exc: confluent_kafka.KafkaException) -> confluent_kafka.KafkaError:
    """The error code a KafkaException carries (librdkafka's generic failure if none)."""
    error = exc.args[0] if exc.args else None
    if isinstance(error, confluent_kafka.KafkaError):
        return error
    return confluent_kafka.KafkaError(_Code._FAIL, str(exc))  # noqa: SLF001


def translate(error: confluent_kafka.KafkaError, action: str) -> KafkaError:
    """The hub's error for one of librdkafka's (or a broker's) error codes."""
    code = error.code()
    name = error.name().title().replace("_", "")  # CLUSTER_AUTHORIZATION_FAILED: ...Failed
    if code == _Code.SECURITY_DISABLED:
        return KafkaError(f"{action}: the broker has no authorizer (is it running with SASL?)")
    if code in _AUTH_CODES:
        return KafkaAuthorizationError(f"{action}: not authorised ({name}): {error.str()}")
    if code in _UNAVAILABLE_CODES or error.retriable():
        return KafkaUnavailableError(f"{action}: Kafka unavailable ({name}): {error.str()}")
    return KafkaError(f"{action}: {name}: {error.str()}")


# ---------------------------------------------------------------- SCRAM credentials
@dataclass(frozen=True)
class ScramCredential:
    """A credential to create or replace: the password stays in this process.

    librdkafka derives the salted password from it for the request; the broker never
    sees the password itself, and ``repr`` shows neither it nor the salt.
    """

    user: str
    mechanism: str
    iterations: int
    password: SecretStr = field(repr=False)
    salt: bytes = field(repr=False)

    def upsertion(self) -> ck.UserScramCredentialUpsertion:
        """The credential as confluent-kafka's alteration."""
        info = ck.ScramCredentialInfo(_MECHANISMS[self.mechanism], self.iterations)
        secret = self.password.get_secret_value().encode()
        return ck.UserScramCredentialUpsertion(self.user, info, secret, self.salt)


def scram_credential(
    user: str,
    password: SecretStr,
    mechanism: str = "SCRAM-SHA-256",
    iterations: int = 8192,
    salt: bytes | None = None,
) -> ScramCredential:
    """A credential for ``user`` with a fresh random salt (unless one is given).

    Kafka accepts 4096..16384 iterations; others are refused here, before any request.
    """
    if mechanism not in _MECHANISMS:
        raise KafkaError(f"unknown SCRAM mechanism {mechanism}")
    if not _MIN_ITERATIONS <= iterations <= _MAX_ITERATIONS:
        raise KafkaError(f"SCRAM iterations must be within {_MIN_ITERATIONS}..{_MAX_ITERATIONS}")
    return ScramCredential(
        user, mechanism, iterations, password, os.urandom(32) if salt is None else salt
    )


# ---------------------------------------------------------------- ACLs
_AclFields = tuple[
    ck.ResourceType, str, ck.ResourcePatternType, str, str, ck.AclOperation, ck.AclPermissionType
]


def _fields(binding: AclBinding) -> _AclFields:
    """The hub's binding in confluent-kafka's terms (both use Kafka's wire values)."""
    try:
        return (
            ck.ResourceType(int(binding.resource_type)),
            binding.resource_name,
            ck.ResourcePatternType(int(binding.pattern_type)),
            binding.principal,
            binding.host,
            ck.AclOperation(int(binding.operation)),
            ck.AclPermissionType(binding.permission),
        )
    except ValueError as exc:  # the principals file grants none of these
        raise KafkaError(f"confluent-kafka cannot express the ACL {binding.describe()}") from exc


def _readable(acl: ck.AclBinding) -> bool:
    """Whether librdkafka could read ``acl`` (see :meth:`KafkaSecurityAdmin.describe_acls`)."""
    unknown = (
        acl.restype_int == ck.ResourceType.UNKNOWN.value
        or acl.resource_pattern_type_int == ck.ResourcePatternType.UNKNOWN.value
        or acl.operation_int == ck.AclOperation.UNKNOWN.value
        or acl.permission_type_int == ck.AclPermissionType.UNKNOWN.value
    )
    if unknown:
        log.warning(
            "acl_not_readable",
            principal=acl.principal,
            resource=acl.name,
            reason="confluent-kafka reports its resource type or operation as unknown",
        )
    return not unknown


def _binding(acl: ck.AclBinding) -> AclBinding:
    """confluent-kafka's binding, as DescribeAcls returns it, as the hub's."""
    rtype, ptype, operation = acl.restype_int, acl.resource_pattern_type_int, acl.operation_int
    try:
        return AclBinding(
            ResourceType(rtype),
            acl.name,
            PatternType(ptype),
            acl.principal,
            Operation(operation),
            acl.host,
            acl.permission_type_int,
        )
    except ValueError as exc:
        raise KafkaError(
            f"the broker holds an ACL this hub does not know (resource type {rtype}, "
            f"{acl.name!r}, pattern {ptype}, operation {operation}); inspect it with AclCommand"
        ) from exc


# ---------------------------------------------------------------- the client
_LIBRDKAFKA_NAMES = {
    "bootstrap_servers": "bootstrap.servers",
    "client_id": "client.id",
    "request_timeout_ms": "socket.timeout.ms",
    "security_protocol": "security.protocol",
    "sasl_mechanism": "sasl.mechanism",
    "sasl_plain_username": "sasl.username",
    "sasl_plain_password": "sasl.password",
}
"""librdkafka's name for each option of :func:`hub.kafka.client_options`."""


def client_config(settings: KafkaSettings, client_id: str) -> dict[str, str | int | float | bool]:
    """The librdkafka properties (connection and security) for ``settings``.

    They are :func:`hub.kafka.client_options`, the options every aiokafka client gets,
    under librdkafka's names (an unset username or password is an empty string).
    """
    options = client_options(settings, client_id)
    return {_LIBRDKAFKA_NAMES[k]: "" if v is None else v for k, v in options.items()}


class _ClientLog:
    """librdkafka's log lines, to structlog at debug (the hub raises its own errors)."""

    def log(self, level: int, fmt: str, *args: object) -> None:
        log.debug("kafka_client_log", librdkafka_level=level, line=fmt % args)


class _Client:
    """One AdminClient, with what librdkafka reports through ``error_cb``."""

    def __init__(self, settings: KafkaSettings, client_id: str) -> None:
        self.timeout_s = settings.request_timeout_ms / 1000
        self.errors: list[confluent_kafka.KafkaError] = []
        with admin_errors("configuring the admin client"):
            self.admin = ck.AdminClient(
                client_config(settings, client_id),
                error_cb=self.errors.append,
                logger=_ClientLog(),
            )

    async def login(self) -> confluent_kafka.KafkaError | None:
        """Whether a request gets through: None, or why not (at most the request timeout).

        A refused login is reported through ``error_cb`` long before the request times
        out, so the callbacks are served while waiting.
        """
        request = asyncio.wrap_future(self.admin.describe_cluster(request_timeout=self.timeout_s))
        try:
            while not request.done():
                self.admin.poll(0)
                refused = next((e for e in self.errors if e.code() in _LOGIN_FAILED), None)
                if refused is not None:
                    return refused
                await asyncio.wait([request], timeout=0.05)
            await request
        except confluent_kafka.KafkaException as exc:
            return _error_of(exc)
        finally:
            if not request.done():
                request.cancel()
        return None

    async def result(self, future: concurrent.futures.Future[Any], action: str) -> Any:
        """Await one of the client's futures, with errors translated."""
        try:
            with admin_errors(action):
                return await asyncio.wrap_future(future)
        finally:
            self.admin.poll(0)

    async def results(
        self, futures: Collection[concurrent.futures.Future[Any]], action: str
    ) -> None:
        """Await every future (so none is left unobserved); raise the first failure."""
        outcomes = await asyncio.gather(
            *(asyncio.wrap_future(f) for f in futures), return_exceptions=True
        )
        self.admin.poll(0)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                with admin_errors(action):
                    raise outcome

    async def close(self) -> None:
        """Destroy the client (which blocks until librdkafka's threads end) off the loop."""
        self.admin.poll(0)
        await asyncio.to_thread(self.admin.__exit__, None, None, None)


class KafkaSecurityAdmin:
    """Kafka's ACL and SCRAM admin operations, with errors translated."""

    def __init__(self, settings: KafkaSettings, client_id: str = "hub-security") -> None:
        self._settings = settings
        self._client_id = client_id
        self._client: _Client | None = None

    async def __aenter__(self) -> Self:
        client = _Client(self._settings, self._client_id)
        try:
            refused = await client.login()
        except BaseException:
            await client.close()
            raise
        if refused is not None:
            await client.close()
            raise translate(refused, "connecting the security admin client")
        self._client = client
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def _open(self) -> _Client:
        if self._client is None:
            raise KafkaError("the security admin client is used outside `async with`")
        return self._client

    async def describe_acls(self, principal: str | None = None) -> set[AclBinding]:
        """Every ACL (of ``principal`` when given) that the broker holds.

        librdkafka 2.16 knows neither the User and DelegationToken resource types nor
        the CreateTokens, DescribeTokens and TwoPhaseCommit operations; it reports such
        an ACL as "unknown". The hub grants none of these, so such an ACL is left out
        here with a warning (``acl_not_readable``), not mistaken for another one.
        """
        # A filter's None matches any name, principal or host; the stubs say only str.
        everything = ck.AclBindingFilter(
            ck.ResourceType.ANY,
            None,  # type: ignore[arg-type]
            ck.ResourcePatternType.ANY,
            principal,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            ck.AclOperation.ANY,
            ck.AclPermissionType.ANY,
        )
        client = self._open
        request = client.admin.describe_acls(everything, request_timeout=client.timeout_s)
        acls: list[ck.AclBinding] = await client.result(request, "describing ACLs")
        return {_binding(acl) for acl in acls if _readable(acl)}

    async def create_acls(self, bindings: Collection[AclBinding]) -> None:
        """Create ``bindings``; an existing one is left as it is."""
        if not bindings:
            return
        client = self._open
        acls = [ck.AclBinding(*_fields(b)) for b in sorted(bindings)]
        futures = client.admin.create_acls(acls, request_timeout=client.timeout_s)
        await client.results(futures.values(), "creating ACLs")

    async def delete_acls(self, bindings: Collection[AclBinding]) -> None:
        """Delete exactly ``bindings``."""
        if not bindings:
            return
        client = self._open
        filters = [ck.AclBindingFilter(*_fields(b)) for b in sorted(bindings)]  # exact matches
        futures = client.admin.delete_acls(filters, request_timeout=client.timeout_s)
        await client.results(futures.values(), "deleting ACLs")

    async def scram_users(self) -> dict[str, dict[str, int]]:
        """Each user with SCRAM credentials: mechanism name -> iterations."""
        client = self._open
        request = client.admin.describe_user_scram_credentials(
            None, request_timeout=client.timeout_s
        )
        assert isinstance(request, concurrent.futures.Future)  # one future when users is None
        described: dict[str, ck.UserScramCredentialsDescription] = await client.result(
            request, "describing SCRAM credentials"
        )
        return {
            user: {
                info.mechanism.name.replace("_", "-"): info.iterations
                for info in description.scram_credential_infos
            }
            for user, description in described.items()
        }

    async def alter_scram(
        self,
        upsertions: list[ScramCredential],
        deletions: list[tuple[str, str]] | None = None,
    ) -> None:
        """Upsert credentials and delete ``(user, mechanism)`` credentials.

        The broker refuses a request that alters one user twice (DuplicateResource).
        """
        alterations: list[ck.UserScramCredentialAlteration] = [c.upsertion() for c in upsertions]
        alterations += [
            ck.UserScramCredentialDeletion(u, _MECHANISMS[m]) for u, m in deletions or []
        ]
        if not alterations:
            return
        client = self._open
        futures = client.admin.alter_user_scram_credentials(
            alterations, request_timeout=client.timeout_s
        )
        await client.results(futures.values(), "altering SCRAM credentials")


async def can_authenticate(settings: KafkaSettings) -> bool:
    """Whether ``settings``' credentials are accepted now (a fresh connection each time)."""
    client = _Client(settings, "hub-security-login")
    try:
        return await client.login() is None
    finally:
        await client.close()
