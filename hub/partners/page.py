"""``/partners/<partner>/checks``: partner staff answer agency checks in a browser.

The team app's rules (docs/teams.md, docs/security.md): a per-person account; the
sign-in form's CSRF token bound to a short-lived cookie, every other form to the
session; failed sign-ins throttled per (username, address) and per address
(:class:`~hub.teams.ratelimit.SignInLimiter`), the password checked off the event
loop; session cookies ``HttpOnly``, ``SameSite=Strict`` (``Secure`` behind HTTPS);
bodies read up to a limit before they are parsed; the app's security headers on every
answer. A member of one partner's staff sees and answers only that partner's checks;
the answer is written as :func:`hub.ingest.checks.answer_check` writes any partner's.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import jinja2
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from hub.ingest.checks import CheckCaller, CheckRefusal, IngestChecks, answer_check, open_checks
from hub.partners.accounts import PartnerAccounts, PartnerSession
from hub.teams.accounts import verify_password
from hub.teams.auth import same_token
from hub.teams.ratelimit import SignInLimiter
from hub.web import client_key
from hub.web.body import FormError, parse_form, read_body
from schemas.checks import AnswerCheck, CheckPartner

log = structlog.get_logger("hub.partners")
MAX_FORM_BYTES = 32 * 1024
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass
class PartnerPages:
    """What the pages need."""

    checks: IngestChecks
    accounts: PartnerAccounts
    limiter: SignInLimiter = field(default_factory=SignInLimiter)
    secure_cookies: bool = False
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    hashing: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))

    def cookie(self, partner: CheckPartner) -> str:
        """The session cookie's name (``__Host-`` needs Secure and path /, so not that)."""
        return f"hub_partner_{partner.value.replace('-', '_')}"


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    defaults: dict[str, Any] = {"problem": None, "errors": (), "banner": None}
    return HTMLResponse(_ENV.get_template(name).render(**(defaults | context)), status_code=status)


def add_partner_pages(app: FastAPI, pages: PartnerPages) -> None:
    """The sign-in and checks pages of every partner the ingest serves."""
    for partner in pages.checks.partners:
        _add(app, pages, partner)


def _add(app: FastAPI, pages: PartnerPages, partner: CheckPartner) -> None:  # noqa: C901, PLR0915 -- one partner's routes
    base = f"/partners/{partner.value}"
    sign_in_cookie = f"hub_partner_sign_in_{partner.value.replace('-', '_')}"
    title = f"Agency checks for {partner.value}"

    def sign_in_page(status: int = 200, problem: str | None = None, username: str = "") -> Response:
        token = secrets.token_urlsafe(32)
        response = _page(
            "partner_sign_in.html",
            status,
            title=f"Sign in: {partner.value}",
            partner=partner.value,
            csrf_token=token,
            username=username,
            problem=problem,
        )
        response.set_cookie(
            sign_in_cookie,
            token,
            max_age=900,
            path=f"{base}/sign-in",
            httponly=True,
            samesite="strict",
            secure=pages.secure_cookies,
        )
        return response

    def session_of(request: Request) -> PartnerSession | None:
        cookie = request.cookies.get(pages.cookie(partner), "")
        found = pages.accounts.session(cookie, pages.clock()) if cookie else None
        return found if found is not None and found.partner is partner else None

    def checks_page(session: PartnerSession, status: int = 200, **extra: Any) -> Response:
        listed = open_checks(pages.checks, CheckCaller(partner))
        return _page(
            "partner_checks.html",
            status,
            title=title,
            partner=partner.value,
            session=session,
            checks=listed.checks,
            **extra,
        )

    async def get_sign_in(_request: Request) -> Response:
        return sign_in_page()

    async def post_sign_in(request: Request) -> Response:
        form = await _form(request)
        username = form.get("username", "").strip()[:200]
        password = form.get("password", "")[:1024]
        address = client_key(request)
        if not same_token(form.get("csrf_token"), request.cookies.get(sign_in_cookie, "")):
            return sign_in_page(403, "The sign-in form expired. Please sign in again.")
        if not username or not password:
            return sign_in_page(422, "Enter your username and your password.", username)
        wait = pages.limiter.attempt(username, address)
        if wait > 0:
            log.warning("partner_sign_in_rate_limited", partner=partner.value, address=address)
            response = sign_in_page(
                429, f"Too many sign-in attempts. Wait {math.ceil(wait)} seconds."
            )
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        who, stored = pages.accounts.sign_in_record(username, partner)
        async with pages.hashing:
            matches = await asyncio.to_thread(verify_password, password, stored)
        if who is None or not matches:
            log.info("partner_sign_in_failed", partner=partner.value, address=address)
            return sign_in_page(401, "The username or password is not right.", username)
        pages.limiter.succeeded(username, address)
        cookie = pages.accounts.create_session(who, partner, pages.clock())
        log.info("partner_signed_in", partner=partner.value, user=who)
        response = RedirectResponse(f"{base}/checks", status_code=303)
        response.set_cookie(
            pages.cookie(partner),
            cookie,
            max_age=int(pages.accounts.lifetime.total_seconds()),
            path=base,
            httponly=True,
            samesite="strict",
            secure=pages.secure_cookies,
        )
        response.delete_cookie(sign_in_cookie, path=f"{base}/sign-in")
        return response

    async def get_checks(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return RedirectResponse(f"{base}/sign-in", status_code=303)
        if not pages.checks.index.synced.is_set():
            return checks_page(session, 503, problem="The hub is starting; try again shortly.")
        banner = "Your answer was sent." if request.query_params.get("answered") else None
        return checks_page(session, banner=banner)

    async def post_answer(request: Request, check_id: str) -> Response:
        session = session_of(request)
        if session is None:
            return RedirectResponse(f"{base}/sign-in", status_code=303)
        form = await _form(request)
        if not same_token(form.get("csrf_token"), session.csrf):
            return checks_page(session, 403, problem="The form expired. Please try again.")
        try:
            which = UUID(check_id)
            body = AnswerCheck(
                result=form.get("result", ""),  # type: ignore[arg-type]
                details=form.get("details", ""),
                answered_by=session.username,
            )
        except ValueError as exc:
            errors = _problems(exc)
            return checks_page(session, 422, problem="The answer was not sent.", errors=errors)
        try:
            await answer_check(pages.checks, CheckCaller(partner), which, body)
        except CheckRefusal as exc:
            return checks_page(session, exc.problem.status, problem=exc.problem.detail)
        return RedirectResponse(f"{base}/checks?answered=1", status_code=303)

    app.add_api_route(f"{base}/sign-in", get_sign_in, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{base}/sign-in", post_sign_in, methods=["POST"], include_in_schema=False)
    app.add_api_route(f"{base}/checks", get_checks, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        f"{base}/checks/{{check_id}}/response",
        post_answer,
        methods=["POST"],
        include_in_schema=False,
    )


def _problems(exc: ValueError) -> tuple[str, ...]:
    if isinstance(exc, ValidationError):
        return tuple(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return ("check_id: not a check of yours",)


async def _form(request: Request) -> dict[str, str]:
    raw = await read_body(request, MAX_FORM_BYTES)
    if raw is None:
        return {}
    try:
        return parse_form(raw, request.headers.get("content-type", ""), max_fields=10)
    except FormError:
        return {}
