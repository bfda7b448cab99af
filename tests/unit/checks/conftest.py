"""Fixtures of the agency-check tests: a keyring, the MASH team app with checks, partners."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from hub.bootstrap import Hub
from schemas.common import Area
from tests.factories import NOW
from tests.unit.checks.checkkit import Ingest, ingest, team_checks
from tests.unit.teams.teamkit import TeamApp, make_deps, running_app


@pytest.fixture
async def team(hub: Hub, tmp_path: Path) -> AsyncIterator[TeamApp]:
    deps = make_deps(hub, tmp_path / "teams", (Area.MASH, Area.EARLY_HELP))
    deps = dataclasses.replace(deps, checks=team_checks(hub, tmp_path / "teams"))
    async with running_app(deps) as app:
        yield app


@pytest.fixture
async def partners(hub: Hub, tmp_path: Path) -> AsyncIterator[Ingest]:
    async with ingest(hub, tmp_path / "ingest", NOW + timedelta(hours=1)) as found:
        yield found
