"""Which keys each hub process holds: least privilege, one key directory per component.

The keyring (:mod:`hub.security.keys`) holds every key of a hub. No process needs all
of them, and none gets them: :func:`export_keys` copies the keys of one or more
components into a directory of their own, which that process is given as its
``HUB_CRYPTO__KEYS_DIR`` (``hub keys export``; compose mounts one per service).

=====================  =========================================================
component              keys
=====================  =========================================================
``router``             ``inbound-<p>`` and ``inbound-mac-<p>`` of every partner (to
                       open and authenticate what arrives), ``area-<a>``,
                       ``route-mac-<a>`` and ``outcome-mac-<a>`` of every area (to
                       seal and authenticate copies, to authenticate outcomes),
                       ``signing-router`` (private: it signs audit checkpoints)
``connectors``         ``subject-key``, and ``inbound-<p>`` and ``inbound-mac-<p>`` of
                       every partner it serves (``connectors-<p>``: one partner)
``teams-<a>``          ``area-<a>``, ``route-mac-<a>`` and ``outcome-mac-<a>`` of its
                       own area only (an instance serving several areas is given
                       each of theirs)
``teams-mash``         also ``check-<p>`` and ``check-mac-<p>`` of every partner: it
                       seals and authenticates agency checks and opens the answers
``connectors-<p>``     also ``check-<p>`` and ``check-mac-<p>`` of its own partner
                       (``connectors-education``/``-probation``: those alone)
``monitor``            none
``audit``              ``signing-router`` public keys only (``hub audit verify``)
=====================  =========================================================
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from hub.errors import ConfigurationError, KeyMaterialError
from hub.security.keys import (
    ROUTER_SIGNING,
    SUBJECT_KEY,
    area_kek,
    check_kek,
    check_mac,
    inbound_kek,
    inbound_mac,
    outcome_mac,
    route_mac,
)
from schemas.checks import CheckPartner
from schemas.common import Area, Partner


class Grant(NamedTuple):
    """One key name a component holds; ``public_only`` gives it the public keys alone."""

    name: str
    public_only: bool = False


def _partner(partner: Partner) -> list[Grant]:
    return [Grant(inbound_kek(partner)), Grant(inbound_mac(partner))]


def _checks(partner: CheckPartner) -> list[Grant]:
    return [Grant(check_kek(partner)), Grant(check_mac(partner))]


ALL_CHECKS: list[Grant] = [g for p in CheckPartner for g in _checks(p)]
"""Every partner's agency-check keys: the asking team's and the whole ingest's."""


def _area(area: Area) -> list[Grant]:
    return [Grant(area_kek(area)), Grant(route_mac(area)), Grant(outcome_mac(area))]


def _components() -> dict[str, list[Grant]]:
    found: dict[str, list[Grant]] = {
        "router": [
            *(g for p in Partner for g in _partner(p)),
            *(g for a in Area for g in _area(a)),
            Grant(ROUTER_SIGNING),
        ],
        "connectors": [
            Grant(SUBJECT_KEY),
            *(g for p in Partner for g in _partner(p)),
            *ALL_CHECKS,
        ],
        "monitor": [],
        "audit": [Grant(ROUTER_SIGNING, public_only=True)],
    }
    found.update(
        {
            f"connectors-{p.value}": [Grant(SUBJECT_KEY), *_partner(p), *_checks(CheckPartner(p))]
            for p in Partner
        }
    )
    found.update(
        {f"connectors-{p.value}": _checks(p) for p in CheckPartner if p.value not in set(Partner)}
    )
    found.update({f"teams-{a.value}": _area(a) for a in Area})
    found[f"teams-{Area.MASH.value}"] = [*_area(Area.MASH), *ALL_CHECKS]
    return found


COMPONENTS: dict[str, list[Grant]] = _components()
"""Every component and the keys it holds."""


def grants(components: Iterable[str]) -> list[Grant]:
    """The keys of one or more components (a process can be several, e.g. two team areas)."""
    found: dict[str, Grant] = {}
    for component in components:
        if component not in COMPONENTS:
            known = ", ".join(COMPONENTS)
            raise ConfigurationError(f"unknown component {component!r}; components: {known}")
        for grant in COMPONENTS[component]:
            held = found.get(grant.name)
            # Holding the private key of a pair wins over holding its public half only.
            if held is None or (held.public_only and not grant.public_only):
                found[grant.name] = grant
    return sorted(found.values())


def _files(folder: Path, grant: Grant) -> list[Path]:
    patterns = ("*.public",) if grant.public_only else ("*.key", "*.private", "*.public")
    return sorted(p for pattern in patterns for p in folder.glob(pattern))


def export_keys(root: Path, components: Iterable[str], dest: Path) -> list[str]:
    """Copy the keys of ``components`` from the keyring ``root`` into ``dest``.

    ``dest`` (mode 0700, files 0600) ends up holding exactly those keys: a folder of a
    key it must not hold is refused rather than left there. Running it again brings
    rotated keys over. Returns the key names exported.
    """
    wanted = grants(components)
    names = {g.name for g in wanted}
    if dest.exists():
        extra = sorted(p.name for p in dest.iterdir() if p.name not in names)
        if extra:
            raise ConfigurationError(
                f"{dest} holds {', '.join(extra)}, which these components must not hold: "
                "remove it, or export into an empty directory"
            )
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest.chmod(0o700)
    for grant in wanted:
        source = root / grant.name
        current = source / "current"
        if not current.exists():
            raise KeyMaterialError(f"no key {grant.name!r} in {root}: run `hub keys init`")
        target = dest / grant.name
        target.mkdir(exist_ok=True, mode=0o700)
        target.chmod(0o700)
        for path in [*_files(source, grant), current]:
            _copy_private(path, target / path.name)
    return [g.name for g in wanted]


def _copy_private(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)
