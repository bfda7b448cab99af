"""The demo's agency checks: the MASH asks, simulated partners answer, some late.

After the day's traffic is routed, the MASH asks partners about a handful of its
contacts through the team API (red, amber and green), and each partner's simulated
system answers through the ingest with its own credential: most at once, some only
after the (shortened) red deadline has passed, and some never, so late answers and
overdue checks show on the scorecard, in ``hub status`` and on the monitor page. The
demo runs the team app with a red deadline of :data:`DEMO_RED_SECONDS` (elapsed) so
that lateness happens within the demo; every other deadline is the real one.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hub.demo.orgs import PARTNER_ORGS
from hub.ingest.checkcredentials import CheckCredentialStore, check_credentials_file
from hub.ingest.credentials import CredentialStore
from schemas.checks import CheckPartner
from schemas.common import Partner

DEMO_RED_SECONDS = 20
"""The demo's red deadline, elapsed seconds (really 4 working hours)."""
ASKS = (
    ("red", ("police", "health")),
    ("red", ("police", "education")),
    ("amber", ("health", "housing")),
    ("green", ("probation", "domestic-abuse")),
    ("red", ("health", "probation")),
    ("amber", ("police", "education")),
)
"""Urgency and partners of each check the MASH asks, one row per contact."""
LATE = frozenset({"health"})
"""Partners whose answers come after the red deadline (health was late, said Ofsted)."""
SILENT = frozenset({"probation"})
"""Partners that do not answer during the demo: their checks stay open, some overdue."""


@dataclass
class ChecksRun:
    """What the demo's checks came to."""

    asked: int = 0
    answered: int = 0
    late: int = 0
    unanswered: int = 0
    refused: dict[str, int] = field(default_factory=dict)


def red_deadline_env() -> dict[str, str]:
    """The team app's environment for the demo's shortened red deadline."""
    hours = DEMO_RED_SECONDS / 3600
    return {"HUB_CHECKS__RED": json.dumps({"kind": "elapsed_hours", "amount": hours})}


def partner_tokens(credentials_file: Path) -> dict[str, str]:
    """A credential for every partner: the connectors' and the answer-only ones."""
    tokens = {p.value: CredentialStore(credentials_file).add(p, PARTNER_ORGS[p]) for p in Partner}
    answer_only = CheckCredentialStore(check_credentials_file(credentials_file))
    for partner in CheckPartner:
        tokens.setdefault(partner.value, answer_only.add(partner))
    return tokens


async def run_checks(teams: str, ingest: str, api_token: str, tokens: dict[str, str]) -> ChecksRun:
    """Ask about the first MASH contacts, then answer as each partner would."""
    run = ChecksRun()
    async with httpx.AsyncClient(timeout=30) as client:
        auth = {"Authorization": f"Bearer {api_token}"}
        queue = await client.get(f"{teams}/api/v1/areas/mash/queue?limit=50", headers=auth)
        contacts = [i["message_id"] for i in queue.json()["items"] if i["child_index"] == 0]
        for message_id, (urgency, partners) in zip(contacts, ASKS, strict=False):
            body = {"partners": list(partners), "urgency": urgency, "question": _QUESTION}
            url = f"{teams}/api/v1/areas/mash/messages/{message_id}/checks"
            asked = await client.post(url, json=body, headers=auth)
            if asked.status_code == 201:  # noqa: PLR2004
                run.asked += len(partners)
        await asyncio.sleep(3)  # the ingest's index reads them from hub.checks
        on_time = [p for p in CheckPartner if p.value not in LATE | SILENT]
        await _answer_all(client, ingest, tokens, on_time, run)
        await asyncio.sleep(DEMO_RED_SECONDS + 2)
        late = [p for p in CheckPartner if p.value in LATE]
        await _answer_all(client, ingest, tokens, late, run, late=True)
        run.unanswered = run.asked - run.answered
    return run


_QUESTION = "Synthetic demo question: what do you know about this child and household?"


async def _answer_all(
    client: httpx.AsyncClient,
    ingest: str,
    tokens: dict[str, str],
    partners: list[CheckPartner],
    run: ChecksRun,
    *,
    late: bool = False,
) -> None:
    for partner in partners:
        auth = {"Authorization": f"Bearer {tokens[partner.value]}"}
        checks = await _open_checks(client, ingest, partner, auth)
        for check in checks:
            body = {
                "result": "nothing_known"
                if partner is CheckPartner.HOUSING
                else "information_found",
                "details": f"Synthetic {partner.value} record for the demo.",
                "answered_by": f"Demo {partner.value} officer",
            }
            url = f"{ingest}/v1/{partner.value}/checks/{check['check_id']}/response"
            answered = await client.post(url, json=body, headers=auth)
            if answered.status_code == 201:  # noqa: PLR2004
                run.answered += 1
                run.late += int(late or not answered.json()["on_time"])
            else:
                run.refused[partner.value] = run.refused.get(partner.value, 0) + 1


async def _open_checks(
    client: httpx.AsyncClient, ingest: str, partner: CheckPartner, auth: dict[str, str]
) -> list[dict[str, object]]:
    """The partner's open checks, once the ingest's index has caught up (bounded wait)."""
    for _ in range(60):
        listed = await client.get(f"{ingest}/v1/{partner.value}/checks", headers=auth)
        if listed.status_code == 200:  # noqa: PLR2004
            found: list[dict[str, object]] = listed.json()["checks"]
            return found
        await asyncio.sleep(0.5)
    return []
