"""Kafka credentials and ACLs: issue, rotate and apply what ``deploy/principals.yaml`` says.

Each component authenticates with SCRAM-SHA-256 as its own principal, with a password
from :mod:`hub.security.passwords`. :func:`apply_security` creates the credentials the
broker lacks and the ACLs the file grants, through the admin API, and waits until the
broker enforces them; run twice, the second run changes nothing. docs/security.md
describes the whole model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr

from hub.errors import KafkaUnavailableError, KeyMaterialError
from hub.security.admin import KafkaSecurityAdmin, can_authenticate, scram_credential
from hub.security.passwords import SecretStore, new_password
from hub.security.principals import AclBinding, Principal, ResourceType, acl_bindings
from hub.settings import PROJECT_ROOT, KafkaSettings

DEFAULT_PRINCIPALS_FILE = PROJECT_ROOT / "deploy" / "principals.yaml"
"""The declarative principals file."""
MECHANISM = "SCRAM-SHA-256"
ITERATIONS = 8192
"""PBKDF2 iterations of each stored credential (Kafka accepts 4096..16384)."""


CredentialAction = Literal["created", "reset", "repaired", "unchanged", "super user"]


@dataclass(frozen=True)
class PrincipalChange:
    """What :func:`apply_security` did (or would do) for one principal."""

    principal: str
    credential: CredentialAction
    added: tuple[AclBinding, ...] = ()
    removed: tuple[AclBinding, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) changed."""
        return self.credential not in {"unchanged", "super user"} or bool(
            self.added or self.removed
        )


@dataclass
class _Plan:
    """What one apply will change, worked out from what the broker holds."""

    kafka: KafkaSettings
    store: SecretStore
    users: dict[str, dict[str, int]]
    held: set[AclBinding]
    desired: set[AclBinding]
    prune: bool
    changes: list[PrincipalChange] = field(default_factory=list)
    upserts: dict[str, SecretStr] = field(default_factory=dict)
    issued: set[str] = field(default_factory=set)
    added: set[AclBinding] = field(default_factory=set)
    removed: set[AclBinding] = field(default_factory=set)

    async def add(self, principal: Principal) -> None:
        """Plan ``principal``'s credential and ACLs."""
        if principal.super_user:
            self.changes.append(PrincipalChange(principal.name, "super user"))
            return
        action = await self._credential(principal.name)
        who = principal.kafka_principal
        mine = {b for b in self.desired if b.principal == who}
        has = {b for b in self.held if b.principal == who}
        added = mine - has
        removed: set[AclBinding] = set()
        if self.prune:
            removed = {b for b in has - mine if _in_scope(b, self.kafka.topic_prefix)}
        self.added |= added
        self.removed |= removed
        self.changes.append(
            PrincipalChange(principal.name, action, tuple(sorted(added)), tuple(sorted(removed)))
        )

    async def _credential(self, name: str) -> CredentialAction:
        stored = self.store.get(name)
        on_broker = MECHANISM in self.users.get(name, {})
        if stored is None:
            # A credential the broker has is for a password nobody here knows.
            self.upserts[name] = SecretStr(new_password())
            self.issued.add(name)
            return "reset" if on_broker else "created"
        if not on_broker:
            self.upserts[name] = stored
            return "created"
        if not await can_authenticate(_as(self.kafka, name, stored)):
            self.upserts[name] = stored
            return "repaired"
        return "unchanged"


async def apply_security(
    principals: list[Principal],
    kafka: KafkaSettings,
    store: SecretStore,
    *,
    prune: bool = False,
    dry_run: bool = False,
    timeout_s: float = 30.0,
) -> list[PrincipalChange]:
    """Bring credentials and ACLs to ``principals`` as the super user in ``kafka``.

    A principal without a stored password gets a new one (``created``, or ``reset`` when
    the broker had a credential whose password is unknown here); a stored password the
    broker lacks, or does not accept, is written to it (``created``, ``repaired``).
    Missing ACLs are added; with ``prune``, ACLs of these principals that the file does
    not grant are removed (only within this topic prefix). A new password is stored
    only once the broker accepts it, so an interrupted run is repaired by the next.
    """
    async with KafkaSecurityAdmin(kafka) as admin:
        plan = _Plan(
            kafka,
            store,
            users=await admin.scram_users(),
            held=await admin.describe_acls(),
            desired=acl_bindings(principals, kafka),
            prune=prune,
        )
        for principal in principals:
            await plan.add(principal)
        if dry_run:
            return plan.changes
        await admin.alter_scram(
            [scram_credential(u, p, MECHANISM, ITERATIONS) for u, p in plan.upserts.items()]
        )
        await admin.create_acls(plan.added)
        await admin.delete_acls(plan.removed)
        await _wait_until_enforced(admin, plan, timeout_s)
    await _wait_until_accepted(kafka, plan.upserts, timeout_s)
    for name in plan.issued:
        store.put(name, plan.upserts[name])
    return plan.changes


def _in_scope(binding: AclBinding, prefix: str) -> bool:
    """Whether pruning under ``prefix`` may remove ``binding`` (other prefixes are left)."""
    if binding.resource_type is ResourceType.CLUSTER:
        return not prefix
    return binding.resource_name.startswith(prefix)


def _as(kafka: KafkaSettings, principal: str, password: SecretStr) -> KafkaSettings:
    return kafka.model_copy(update={"username": principal, "password": password})


async def _wait_until_enforced(admin: KafkaSecurityAdmin, plan: _Plan, timeout_s: float) -> None:
    """Return once the broker shows every new credential and ACL change."""

    async def settled() -> bool:
        users = await admin.scram_users()
        if any(MECHANISM not in users.get(u, {}) for u in plan.upserts):
            return False
        if not plan.added and not plan.removed:
            return True
        held = await admin.describe_acls()
        return plan.added <= held and not plan.removed & held

    await _poll(settled, timeout_s, "the broker did not show the new credentials and ACLs")


async def _wait_until_accepted(
    kafka: KafkaSettings, upserts: dict[str, SecretStr], timeout_s: float
) -> None:
    """Return once the broker accepts every new password (its cache follows the log)."""
    for name, password in upserts.items():
        settings = _as(kafka, name, password)

        async def accepted(settings: KafkaSettings = settings) -> bool:
            return await can_authenticate(settings)

        await _poll(accepted, timeout_s, f"the broker does not accept {name}'s new password")


async def _poll(check: Callable[[], Awaitable[bool]], timeout_s: float, failure: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise KafkaUnavailableError(f"{failure} within {timeout_s:.0f}s")
        await asyncio.sleep(0.2)


async def rotate_credential(
    principal: Principal, kafka: KafkaSettings, store: SecretStore, timeout_s: float = 30.0
) -> None:
    """Give ``principal`` a new password; connections already open stay authenticated."""
    if principal.super_user:
        raise KeyMaterialError(
            f"{principal.name} is the super user; its credential is managed with the cluster"
        )
    password = SecretStr(new_password())
    async with KafkaSecurityAdmin(kafka) as admin:
        await admin.alter_scram([scram_credential(principal.name, password, MECHANISM, ITERATIONS)])
    await _wait_until_accepted(kafka, {principal.name: password}, timeout_s)
    store.put(principal.name, password)


async def broker_acls(kafka: KafkaSettings, principals: Iterable[Principal]) -> set[AclBinding]:
    """The ACLs the broker holds for ``principals``."""
    names = {p.kafka_principal for p in principals}
    async with KafkaSecurityAdmin(kafka) as admin:
        return {b for b in await admin.describe_acls() if b.principal in names}
