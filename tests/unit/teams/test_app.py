"""The team app in-process (no broker): sign-in, area isolation, outcomes, validation, headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.bootstrap import Hub
from hub.router.history import HistoryStore
from hub.teams.ratelimit import SignInLimiter
from hub.teams.validation import RATIONALE_REQUIRED
from hub.web import TokenBuckets
from schemas.common import (
    Area,
    ConsentStatus,
    NoConsentReason,
    PlanType,
    RiskLevel,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import Envelope, Plan, UnscheduledCareAccess
from schemas.outcome import Outcome, OutcomeRecorded
from tests.factories import NOW, consent, envelope, risk, subject
from tests.unit.teams.teamkit import TeamApp, csrf_of, make_deps, queue, running_app

SERVED = (Area.MASH, Area.EARLY_HELP, Area.ENCOMPASS)


def mash_message(**kw: Any) -> Envelope:
    return envelope(risk=risk(RiskLevel.HIGH), narrative="Synthetic narrative for MASH", **kw)


def early_help_message() -> Envelope:
    return envelope("health.safeguarding_concern", [subject(label="eh-child")])


@pytest.fixture
async def team(hub: Hub, tmp_path: Path) -> AsyncIterator[TeamApp]:
    deps = make_deps(hub, tmp_path / "teams", SERVED)
    async with running_app(deps) as app:
        yield app


@pytest.fixture
async def mash(team: TeamApp, hub: Hub) -> Envelope:
    """One MASH message queued, and alice (MASH) signed in."""
    env = mash_message()
    queue(team.deps.store, hub, env, Area.MASH)
    response = await team.sign_in_as("alice", Area.MASH)
    assert response.status_code == 303
    return env


def outcome_form(
    token: str, outcome: str = "s17_assessment", rationale: str = ""
) -> dict[str, str]:
    return {"csrf_token": token, "outcome": outcome, "rationale": rationale}


class TestSignIn:
    async def test_sign_in_sets_a_strict_http_only_cookie(self, team: TeamApp) -> None:
        """A good password leads to the practitioner's queue with a hardened cookie."""
        password = team.deps.accounts.add_user("alice", Area.MASH)
        response = await team.sign_in("alice", password)
        assert response.status_code == 303
        assert response.headers["location"] == "/areas/mash/queue"
        cookie = response.headers["set-cookie"]
        assert "hub_team_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Secure" not in cookie

    async def test_secure_cookies_when_configured(self, hub: Hub, tmp_path: Path) -> None:
        """With secure_cookies the session cookie is Secure and __Host- prefixed."""
        deps = make_deps(hub, tmp_path / "s", SERVED)
        deps.secure_cookies = True
        password = deps.accounts.add_user("alice", Area.MASH)
        async with running_app(deps) as team:
            form = await team.client.get("/sign-in")
            assert "Secure" in form.headers["set-cookie"]
            token = csrf_of(form.text)
            # httpx keeps no Secure cookie over plain HTTP; send it as a browser on HTTPS would.
            team.client.cookies.set("hub_team_sign_in", token, domain="teams.test")
            response = await team.client.post(
                "/sign-in", data={"username": "alice", "password": password, "csrf_token": token}
            )
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-hub_team_session=")
        assert "Secure" in cookie

    async def test_wrong_password_is_refused_on_the_page(self, team: TeamApp) -> None:
        """A wrong password gets 401 and a plain message, no session."""
        team.deps.accounts.add_user("alice", Area.MASH)
        response = await team.sign_in("alice", "not-the-password")
        assert response.status_code == 401
        assert "username or password is not right" in response.text
        assert (await team.client.get("/areas/mash/queue")).status_code == 303

    async def test_sign_in_needs_the_forms_token(self, team: TeamApp) -> None:
        """A sign-in post without the form's token is refused (login CSRF)."""
        password = team.deps.accounts.add_user("alice", Area.MASH)
        response = await team.client.post(
            "/sign-in", data={"username": "alice", "password": password, "csrf_token": "forged"}
        )
        assert response.status_code == 403

    async def test_sign_in_is_rate_limited(self, hub: Hub, tmp_path: Path) -> None:
        """After the burst, attempts get 429 with Retry-After, even with the right password."""
        limiter = SignInLimiter(TokenBuckets(3, 1 / 60), TokenBuckets(100, 1))
        deps = make_deps(hub, tmp_path / "r", SERVED, limiter=limiter)
        password = deps.accounts.add_user("alice", Area.MASH)
        async with running_app(deps) as team:
            statuses = [(await team.sign_in("alice", "wrong")).status_code for _ in range(3)]
            blocked = await team.sign_in("alice", password)
        assert statuses == [401, 401, 401]
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0

    async def test_sign_out_ends_the_session(self, team: TeamApp, mash: Envelope) -> None:
        """After signing out the queue asks to sign in again."""
        del mash
        token = await team.csrf("/areas/mash/queue")
        response = await team.client.post("/sign-out", data={"csrf_token": token})
        assert response.status_code == 303
        assert (await team.client.get("/areas/mash/queue")).headers["location"] == "/sign-in"

    async def test_pages_need_a_session(self, team: TeamApp) -> None:
        """Without signing in, every page redirects to the sign-in page."""
        for path in ("/", "/areas/mash/queue", "/areas/mash/messages/x"):
            response = await team.client.get(path)
            assert response.status_code == 303
            assert response.headers["location"] == "/sign-in"


class TestQueuePage:
    async def test_shows_the_areas_messages_with_clock_and_decision(
        self, team: TeamApp, mash: Envelope
    ) -> None:
        """The queue lists kind, partner, times, due, clock and the rules that sent it."""
        response = await team.client.get("/areas/mash/queue")
        assert response.status_code == 200
        text = response.text
        assert mash.kind in text
        assert "police" in text
        assert "On time" in text
        assert "r1-significant-harm" in text
        assert "Testchild" not in text  # no content on the list
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    async def test_the_message_page_shows_decrypted_details(
        self, team: TeamApp, mash: Envelope
    ) -> None:
        """Opening decrypts names, date of birth, narrative, risk and consent."""
        response = await team.client.get(f"/areas/mash/messages/{mash.message_id}")
        assert response.status_code == 200
        for text in (
            "Testchild Synthetic",
            "2018-03-01",
            "Synthetic narrative for MASH",
            "UK GDPR 6(1)(e)",
            "High",
        ):
            assert text in response.text

    async def test_cpis_plans_and_accesses_are_shown(self, team: TeamApp, hub: Hub) -> None:
        """A CP-IS access shows the plan's authority and where and when the child was seen."""
        env = envelope(
            "health.cpis_access",
            [subject(age_years=None, date_of_birth=None)],
            consent=consent(ConsentStatus.NOT_SOUGHT),
            plans=(
                Plan(
                    type=PlanType.LOOKED_AFTER_CHILD,
                    local_authority="EXC1 - EXAMPLE COUNTY COUNCIL",
                ),
            ),
            accesses=(
                UnscheduledCareAccess(
                    accessed_at=NOW,
                    setting="Example Hospital - Emergency Department",
                    setting_org_code="RX9ED",
                    accessed_by_role="Registered nurse",
                ),
            ),
        )
        queue(team.deps.store, hub, env, Area.MASH)
        await team.sign_in_as("alice", Area.MASH)
        response = await team.client.get(f"/areas/mash/messages/{env.message_id}")
        for text in (
            "looked after child",
            "EXC1 - EXAMPLE COUNTY COUNCIL",
            "Example Hospital - Emergency Department",
            "Registered nurse",
        ):
            assert text in response.text

    async def test_linked_messages_are_shown(self, team: TeamApp, hub: Hub) -> None:
        """A health concern about the child of a police notification links to it."""
        first = mash_message()
        second = envelope(
            "health.safeguarding_concern",
            [subject(label="child-1", injured=True)],
            consent=consent(ConsentStatus.NOT_SOUGHT),
        )
        history = HistoryStore()
        queue(team.deps.store, hub, first, Area.MASH, history=history)
        queue(team.deps.store, hub, second, Area.MASH, history=history, offset=1)
        await team.sign_in_as("alice", Area.MASH)
        response = await team.client.get("/areas/mash/queue")
        assert f"/areas/mash/messages/{first.message_id}</a>" not in response.text
        assert f'href="/areas/mash/messages/{first.message_id}">' in response.text
        assert "2 contact(s) in 12 months (police 1)" in response.text


class TestIsolation:
    async def test_another_areas_queue_is_forbidden(
        self, team: TeamApp, hub: Hub, mash: Envelope
    ) -> None:
        """A MASH practitioner gets 403 on early help's queue and 404 on its messages."""
        eh = early_help_message()
        queue(team.deps.store, hub, eh, Area.EARLY_HELP)
        assert (await team.client.get("/areas/early-help/queue")).status_code == 403
        opened = await team.client.get(f"/areas/early-help/messages/{eh.message_id}")
        assert opened.status_code == 403
        # Asking for the early-help message under the MASH queue finds nothing.
        assert (await team.client.get(f"/areas/mash/messages/{eh.message_id}")).status_code == 404
        del mash

    async def test_an_early_help_practitioner_does_not_see_mash(
        self, team: TeamApp, mash: Envelope
    ) -> None:
        """The MASH message is not on the early-help queue, nor reachable."""
        token = await team.csrf("/areas/mash/queue")
        await team.client.post("/sign-out", data={"csrf_token": token})
        response = await team.sign_in_as("erin", Area.EARLY_HELP)
        assert response.headers["location"] == "/areas/early-help/queue"
        listing = await team.client.get("/areas/early-help/queue")
        assert listing.status_code == 200
        assert str(mash.message_id) not in listing.text
        assert (await team.client.get("/areas/mash/queue")).status_code == 403
        opened = await team.client.get(f"/areas/early-help/messages/{mash.message_id}")
        assert opened.status_code == 404

    async def test_unserved_and_unknown_areas(self, hub: Hub, tmp_path: Path) -> None:
        """A practitioner of an area this instance does not serve gets 404, not data."""
        deps = make_deps(hub, tmp_path / "u", (Area.EARLY_HELP,))
        password = deps.accounts.add_user("alice", Area.MASH)
        async with running_app(deps) as team:
            await team.sign_in("alice", password)
            assert (await team.client.get("/areas/mash/queue")).status_code == 404
            assert (await team.client.get("/areas/nowhere/queue")).status_code == 404


class TestRecordOutcome:
    async def test_blank_rationale_is_refused_on_the_page(
        self, team: TeamApp, mash: Envelope
    ) -> None:
        """An empty or blank rationale re-shows the form with the error; nothing is written."""
        page = f"/areas/mash/messages/{mash.message_id}"
        for blank in ("", "   \n\t "):
            token = await team.csrf(page)
            response = await team.client.post(
                f"{page}/outcome", data=outcome_form(token, rationale=blank)
            )
            assert response.status_code == 422
            assert RATIONALE_REQUIRED in response.text
            assert 'aria-invalid="true"' in response.text
            assert 'value="s17_assessment" selected' in response.text
        assert team.published.published == []
        item = team.deps.store.get("mash", mash.message_id)
        assert item is not None
        assert item.decided is None

    async def test_an_outcome_must_be_chosen(self, team: TeamApp, mash: Envelope) -> None:
        """No outcome chosen: a clear error, the typed rationale kept."""
        page = f"/areas/mash/messages/{mash.message_id}"
        token = await team.csrf(page)
        response = await team.client.post(
            f"{page}/outcome", data=outcome_form(token, outcome="", rationale="Synthetic reason")
        )
        assert response.status_code == 422
        assert "Choose an outcome" in response.text
        assert "Synthetic reason</textarea>" in response.text

    async def test_recording_produces_and_marks_decided(
        self, team: TeamApp, mash: Envelope
    ) -> None:
        """The outcome goes to team.outcomes with who and when; the row shows as decided."""
        page = f"/areas/mash/messages/{mash.message_id}"
        token = await team.csrf(page)
        response = await team.client.post(
            f"{page}/outcome", data=outcome_form(token, rationale="Synthetic: strategy needed")
        )
        assert response.status_code == 303
        shown = await team.client.get(response.headers["location"])
        assert "The outcome was recorded." in shown.text
        assert "Section 17 assessment" in shown.text
        ((outcome, headers),) = team.published.published
        assert isinstance(outcome, OutcomeRecorded)
        assert outcome.message_id == mash.message_id
        assert outcome.area is Area.MASH
        assert outcome.subject_key == mash.subject_key
        assert outcome.outcome is Outcome.S17_ASSESSMENT
        assert outcome.rationale == "Synthetic: strategy needed"
        assert outcome.decided_by == "alice"
        assert outcome.decided_at == NOW
        assert outcome.routed_at == NOW
        assert outcome.due_by is not None
        assert ("hub.area", b"mash") in headers
        queue_page = await team.client.get("/areas/mash/queue?status=decided")
        assert "Decided" in queue_page.text
        assert (await team.client.get("/areas/mash/queue")).text.count("/messages/") == 0

    async def test_a_second_decision_is_a_conflict(self, team: TeamApp, mash: Envelope) -> None:
        """Deciding twice is refused with 409; one outcome only."""
        page = f"/areas/mash/messages/{mash.message_id}"
        for expected in (303, 409):
            token = await team.csrf(page)
            response = await team.client.post(
                f"{page}/outcome", data=outcome_form(token, rationale="Synthetic reason")
            )
            assert response.status_code == expected
        assert len(team.published.published) == 1

    async def test_kafka_down_records_nothing(self, team: TeamApp, mash: Envelope) -> None:
        """If Kafka does not take it: 503, not decided, and a retry later works."""
        page = f"/areas/mash/messages/{mash.message_id}"
        team.published.fail = True
        token = await team.csrf(page)
        response = await team.client.post(
            f"{page}/outcome", data=outcome_form(token, rationale="Synthetic reason")
        )
        assert response.status_code == 503
        assert "Nothing was saved" in response.text
        assert "Synthetic reason</textarea>" in response.text
        team.published.fail = False
        token = await team.csrf(page)
        response = await team.client.post(
            f"{page}/outcome", data=outcome_form(token, rationale="Synthetic reason")
        )
        assert response.status_code == 303

    async def test_forms_need_the_sessions_token(self, team: TeamApp, mash: Envelope) -> None:
        """A post without this session's CSRF token is refused and writes nothing."""
        page = f"/areas/mash/messages/{mash.message_id}"
        for token in ("", "forged"):
            response = await team.client.post(
                f"{page}/outcome", data=outcome_form(token, rationale="Synthetic reason")
            )
            assert response.status_code == 403
        assert team.published.published == []


class TestEncompass:
    async def test_each_child_has_its_notice(self, team: TeamApp, hub: Hub) -> None:
        """Operation Encompass shows one row per child, each opening its own notice."""
        env = envelope(
            "police.notification.domestic_abuse",
            [
                subject(SubjectRole.VICTIM, "v"),
                subject(label="c1", given_name="Firstchild", present=True, school_urn="100001"),
                subject(label="c2", given_name="Secondchild", age_years=12, school_urn="100002"),
            ],
        )
        assert queue(team.deps.store, hub, env, Area.ENCOMPASS) == 2
        await team.sign_in_as("sam", Area.ENCOMPASS)
        listing = await team.client.get("/areas/encompass/queue")
        assert listing.text.count(f"/messages/{env.message_id}?child=") == 2
        second = await team.client.get(f"/areas/encompass/messages/{env.message_id}?child=2")
        assert "Operation Encompass notice" in second.text
        assert "Secondchild" in second.text
        assert "100002" in second.text
        assert "Firstchild" not in second.text


class TestReturnedPage:
    async def test_a_returned_message_says_what_the_sender_must_add(
        self, hub: Hub, tmp_path: Path
    ) -> None:
        """The returned page gives the reason, the fields to add, and that harm is not returned."""
        deps = make_deps(hub, tmp_path / "teams", (Area.RETURNED,))
        env = envelope(
            consent=consent(
                ConsentStatus.NOT_SOUGHT,
                no_consent_reason=NoConsentReason.CANNOT_REASONABLY_BE_OBTAINED,
                statutory_gateway=StatutoryGateway.CA2004_S11,
            )
        )
        async with running_app(deps) as team:
            assert queue(team.deps.store, hub, env, Area.RETURNED) == 1
            assert (await team.sign_in_as("rita", Area.RETURNED)).status_code == 303
            response = await team.client.get(f"/areas/returned/messages/{env.message_id}")
        assert response.status_code == 200
        text = " ".join(response.text.split())
        assert "Returned to the sender because" in text
        assert "What the sender (police) must add before resending" in text
        assert "consent_to_share &#34;yes&#34;" in text
        assert "A risk of significant harm is never returned" in text
