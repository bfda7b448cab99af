"""``hub demo``: the whole hub on the local broker, fed a realistic day of partner traffic.

It starts what it needs (the broker, the topics, the keyring, the router and the
connectors as real processes, each given only its own keys: a key directory per
component, exported from the keyring), issues each partner a credential, posts the day's
requests to the real HTTP endpoints (retrying a 503 after its Retry-After, as a
partner system would), waits until every accepted message has its decision, and then
prints where it all went.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID
from xml.etree.ElementTree import ParseError

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from hub.bootstrap import Hub
from hub.broker.topics import apply_topics, load_topics_file
from hub.demo.checks import ChecksRun, partner_tokens, red_deadline_env, run_checks
from hub.demo.orgs import PARTNER_ORGS
from hub.demo.traffic import PartnerRequest, generate_day
from hub.errors import HubError
from hub.ingest.credentials import CredentialStore
from hub.kafka import kafka_errors, make_consumer, partitions_of
from hub.security.credentials import apply_security
from hub.security.keys import init_keyring
from hub.security.layout import export_keys
from hub.security.passwords import SecretStore
from hub.security.principals import load_principals_file
from hub.topology import DECISIONS
from schemas.common import Area, Partner
from schemas.decision import DecisionRecorded


@dataclass
class Outcome:
    """What happened to the day's requests."""

    sent: Counter[str] = field(default_factory=Counter)
    status: Counter[tuple[str, int]] = field(default_factory=Counter)
    accepted: set[UUID] = field(default_factory=set)
    duplicates: int = 0
    refusals: list[tuple[str, str]] = field(default_factory=list)
    retries: int = 0
    checks: ChecksRun | None = None


@dataclass
class DemoOptions:
    """What the command line chose."""

    day: date
    seed: int
    scale: float
    port: int
    keep: bool
    teams_port: int = 8090
    monitor_port: int = 9108


def _env(hub: Hub, *, per_component: bool) -> dict[str, str]:
    s = hub.settings
    env = {
        **os.environ,
        "HUB_KAFKA__BOOTSTRAP_SERVERS": s.kafka.bootstrap_servers,
        "HUB_KAFKA__TOPIC_PREFIX": s.kafka.topic_prefix,
        "HUB_ROUTER__STATE_DIR": str(s.router.state_dir),
        "HUB_CONNECTORS__STATE_DIR": str(s.connectors.state_dir),
        "HUB_TEAMS__STATE_DIR": str(s.teams.state_dir),
        "HUB_LOGGING__LEVEL": "WARNING",
    }
    if per_component:
        # Least privilege: the router logs in as `router`, each partner's producer as
        # `connector-<partner>`, with the passwords `hub security apply` issued.
        env["HUB_SECURITY__PER_COMPONENT"] = "true"
        env["HUB_SECURITY__SECRETS_DIR"] = str(s.security.secrets_dir)
    return env


def _component_env(hub: Hub, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each process's environment, with a key directory holding only its own keys."""
    s = hub.settings
    root = s.router.state_dir.parent / "demo-keys"
    components = {
        "router": ["router"],
        "connectors": ["connectors"],
        "teams": [f"teams-{a.value}" for a in Area],  # one instance serves every area
        "monitor": ["monitor"],
    }
    found = {}
    for process, names in components.items():
        export_keys(s.crypto.keys_dir, names, root / process)
        found[process] = {**env, "HUB_CRYPTO__KEYS_DIR": str(root / process)}
    return found


def _secure(hub: Hub) -> bool:
    """Issue every principal's credential and ACLs when the broker runs with SASL."""
    s = hub.settings
    if not s.kafka.security_protocol.startswith("SASL"):
        return False
    topics = load_topics_file(s.topics.file, s.topics.profile)
    principals = load_principals_file(s.security.principals_file, [t.name for t in topics])
    asyncio.run(apply_security(principals, s.kafka, SecretStore(s.security.secrets_dir)))
    return True


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 -- our own console command
            [sys.executable, "-m", "hub", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def answers_ready(
    url: str, proc: subprocess.Popen[bytes], timeout_s: float, *, probe_s: float = 1.0
) -> bool:
    """Whether ``url`` answers ``{"ready": true}`` before ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if httpx.get(url, timeout=probe_s).json().get("ready"):
                return True
        time.sleep(0.3)
    return False


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    if answers_ready(url, proc, timeout_s):
        return
    if proc.poll() is not None:
        raise HubError(f"a hub process exited during start-up; see {log}")
    raise HubError(f"the connectors did not become ready; see {log}")


async def _post_all(
    base: str, tokens: dict[Partner, str], requests: list[PartnerRequest], outcome: Outcome
) -> None:
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def post(request: PartnerRequest) -> None:
            headers = {
                "Content-Type": request.content_type,
                "Authorization": f"Bearer {tokens[request.partner]}",
            }
            async with limit:
                for _attempt in range(30):
                    response = await client.post(
                        request.path, content=request.body, headers=headers
                    )
                    if response.status_code != 503:  # noqa: PLR2004
                        break
                    outcome.retries += 1
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            partner = request.partner.value
            outcome.sent[partner] += 1
            outcome.status[partner, response.status_code] += 1
            if response.status_code == 202:  # noqa: PLR2004
                for message in response.json()["messages"]:
                    if message["duplicate"]:
                        outcome.duplicates += 1
                    else:
                        outcome.accepted.add(UUID(message["message_id"]))
            else:
                outcome.refusals.append((request.label, _first_reason(response)))

        await asyncio.gather(*(post(r) for r in requests))


def _first_reason(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").endswith("xml"):
        return _xml_reason(response)
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if body.get("errors"):
        first = body["errors"][0]
        return f"{first['field']}: {first['message']}"
    if body.get("resourceType") == "OperationOutcome" and body.get("issue"):
        return str(body["issue"][0].get("diagnostics", ""))
    return str(body.get("detail", f"HTTP {response.status_code}"))


def _xml_reason(response: httpx.Response) -> str:
    """The first diagnostics of an OperationOutcome in FHIR XML (what XML callers get)."""
    try:
        root = defused_fromstring(response.content)
    except (ParseError, DefusedXmlException):
        return f"HTTP {response.status_code}"
    found = root.find("{http://hl7.org/fhir}issue/{http://hl7.org/fhir}diagnostics")
    return found.get("value", "") if found is not None else f"HTTP {response.status_code}"


async def _decisions(hub: Hub, wanted: set[UUID], timeout_s: float) -> list[DecisionRecorded]:
    kafka = hub.settings.kafka
    consumer = make_consumer(kafka, "hub-demo", read_committed=True)
    found: dict[UUID, DecisionRecorded] = {}
    with kafka_errors("reading decisions"):
        await consumer.start()
        try:
            partitions = await partitions_of(consumer, [kafka.topic(DECISIONS)])
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            deadline = time.monotonic() + timeout_s
            while len(found) < len(wanted) and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batch.values():
                    for record in records:
                        decision = DecisionRecorded.model_validate_json(record.value)
                        if decision.message_id in wanted:
                            found[decision.message_id] = decision
        finally:
            await consumer.stop()
    return list(found.values())


def run_demo(hub: Hub, options: DemoOptions) -> tuple[Outcome, list[DecisionRecorded], float]:
    """Run the day; return what the partners saw, the decisions, and the seconds taken."""
    s = hub.settings
    hub.local_broker().start()
    asyncio.run(apply_topics(load_topics_file(s.topics.file, s.topics.profile), s.kafka))
    per_component = _secure(hub)
    init_keyring(s.crypto.keys_dir)
    store = CredentialStore(s.connectors.credentials_file)
    tokens = {p: store.add(p, PARTNER_ORGS[p]) for p in Partner}
    requests = generate_day(options.day, seed=options.seed, scale=options.scale)
    env = _component_env(hub, _env(hub, per_component=per_component))
    logs = s.router.state_dir.parent / "demo"
    outcome = Outcome()
    started = time.monotonic()
    connectors = ["connectors", "serve", "--port", str(options.port)]
    teams = ["teams", "serve", "--port", str(options.teams_port)]
    monitor = ["monitor", "run", "--port", str(options.monitor_port)]
    with (
        _process(["router", "run"], env["router"], logs / "router.log"),
        _process(connectors, env["connectors"], logs / "connectors.log") as web,
        _process(teams, env["teams"] | red_deadline_env(), logs / "teams.log") as team_web,
        _process(monitor, env["monitor"], logs / "monitor.log"),
    ):
        base = f"http://127.0.0.1:{options.port}"
        _wait_ready(f"{base}/health", web, logs / "connectors.log")
        asyncio.run(_post_all(base, tokens, requests, outcome))
        decisions = asyncio.run(_decisions(hub, outcome.accepted, timeout_s=180))
        teams_base = f"http://127.0.0.1:{options.teams_port}"
        _wait_ready(f"{teams_base}/health", team_web, logs / "teams.log")
        outcome.checks = asyncio.run(_checks(hub, teams_base, base))
        elapsed = time.monotonic() - started
        if options.keep:
            _keep_running(hub, options, base)
    return outcome, decisions, elapsed


async def _checks(hub: Hub, teams_base: str, base: str) -> ChecksRun:
    """The MASH asks partners about some contacts; simulated partners answer (some late)."""
    from hub.bootstrap.teams import accounts_file  # noqa: PLC0415
    from hub.teams.accounts import AccountStore  # noqa: PLC0415

    accounts = AccountStore(accounts_file(hub.settings.teams))
    try:
        api_token = accounts.add_client(Area.MASH)
    finally:
        accounts.close()
    tokens = partner_tokens(hub.settings.connectors.credentials_file)
    return await run_checks(teams_base, base, api_token, tokens)


def _keep_running(hub: Hub, options: DemoOptions, base: str) -> None:
    """Leave the processes up for a person to explore, with a MASH sign-in."""
    from hub.bootstrap.teams import accounts_file  # noqa: PLC0415
    from hub.teams.accounts import AccountStore  # noqa: PLC0415 -- only with --keep

    store = AccountStore(accounts_file(hub.settings.teams))
    try:
        username = f"demo-mash-{random.SystemRandom().randrange(10_000)}"
        password = store.add_user(username, Area.MASH)
    finally:
        store.close()
    lines = (
        "The hub keeps running; Ctrl-C stops it.\n"
        f"  partner ingest:  {base}/docs\n"
        f"  team queue:      http://127.0.0.1:{options.teams_port}/  "
        f"(sign in as {username} / {password})\n"
        f"  scorecard:       http://127.0.0.1:{options.monitor_port}/  "
        "(/metrics for Prometheus)\n"
    )
    print(lines)  # noqa: T201
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(1)


def default_options(port: int = 8080, scale: float = 1.0, keep: bool = False) -> DemoOptions:
    """Today, a fresh seed (so re-running is not all resends), county scale."""
    return DemoOptions(
        day=datetime.now(UTC).date(),
        seed=random.SystemRandom().randrange(1, 1_000_000),
        scale=scale,
        port=port,
        keep=keep,
    )


def area_counts(decisions: list[DecisionRecorded]) -> Counter[Area]:
    """Messages per area."""
    counts: Counter[Area] = Counter()
    for decision in decisions:
        counts.update(decision.destinations)
    return counts


def police_kept_from_mash(decisions: list[DecisionRecorded]) -> tuple[int, int]:
    """(police messages not sent to the MASH, police messages)."""
    police = [d for d in decisions if d.partner is Partner.POLICE]
    return sum(1 for d in police if Area.MASH not in d.destinations), len(police)
