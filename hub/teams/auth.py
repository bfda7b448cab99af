"""Who is asking, and may they see this area: FastAPI dependencies for pages and API.

Pages: a practitioner's signed session cookie (:mod:`hub.teams.sessions`); no session
sends them to the sign-in page. API: a per-area bearer token from ``hub teams
add-client``; none or an unknown one is ``401``, answered by the app's
:class:`~hub.web.body.BearerGate` before a byte of the body is read (the dependency
below only picks up whom the gate let in). Either way, another area's queue is
``403``, and a message that is not in the caller's own area's queue is ``404``: the
queue of one area never reveals what another holds.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.teams.accounts import ApiClient
from hub.teams.deps import TeamDeps
from hub.teams.sessions import Session
from hub.teams.views import AREA_NAMES
from hub.web.body import FormError, parse_form, read_body
from schemas.common import Area


class ProblemError(Exception):
    """An API error, answered as RFC 9457 problem details."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers
        self.errors = errors


class PageError(Exception):
    """A page error, answered with the error page."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


class SignInRequired(Exception):  # noqa: N818 -- a signal to the redirect handler
    """No live session: the page handler redirects to the sign-in page."""


def deps_of(request: Request) -> TeamDeps:
    """The app's dependencies."""
    deps: TeamDeps = request.app.state.deps
    return deps


def session_cookie_name(deps: TeamDeps) -> str:
    """``__Host-`` names are refused by browsers unless Secure, path ``/`` and no domain."""
    return "__Host-hub_team_session" if deps.secure_cookies else "hub_team_session"


# ---------------------------------------------------------------------- pages


def current_session(request: Request) -> Session | None:
    """The live session of the request, if any (the account must still be enabled)."""
    deps = deps_of(request)
    cookie = request.cookies.get(session_cookie_name(deps))
    if not cookie:
        return None
    session = deps.sessions.get(cookie, deps.clock())
    if session is None:
        return None
    who = deps.accounts.user(session.username)
    if who is None or who.area is not session.area:
        return None
    return session


def page_session(request: Request) -> Session:
    """The live session, or a redirect to sign in."""
    session = current_session(request)
    if session is None:
        raise SignInRequired
    return session


PageSession = Annotated[Session, Depends(page_session)]


def page_area(request: Request, area: str, session: PageSession) -> Area:
    """The area in the path, if it is the practitioner's own and served here."""
    which = _area(area)
    if which is None:
        raise PageError(404, "Page not found", "There is no such area.")
    if which is not session.area:
        raise PageError(
            403,
            "Not your area",
            f"You work the {AREA_NAMES[session.area]} queue; "
            f"you cannot see the {AREA_NAMES[which]} queue.",
        )
    if which not in deps_of(request).areas:
        raise PageError(404, "Page not found", "This app does not serve your area.")
    return which


PageArea = Annotated[Area, Depends(page_area)]


def same_token(sent: object, expected: str) -> bool:
    """True when a form's token is ``expected`` (any text compared in constant time)."""
    if not isinstance(sent, str) or not expected:
        return False
    encoded = sent.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(encoded, expected.encode("utf-8", "surrogateescape"))


async def read_page_form(request: Request, max_bytes: int) -> dict[str, str]:
    """The posted form, read up to ``max_bytes`` (``413`` beyond) before it is parsed."""
    raw = await read_body(request, max_bytes)
    if raw is None:
        raise PageError(413, "Too much text", "The form is larger than this page accepts.")
    try:
        return parse_form(raw, request.headers.get("content-type", ""), max_fields=20)
    except FormError as exc:
        raise PageError(exc.status, "Form not understood", exc.detail) from None


async def read_session_form(request: Request, session: Session, max_bytes: int) -> dict[str, str]:
    """A signed-in page's posted form, refused (``403``) without this session's CSRF token."""
    form = await read_page_form(request, max_bytes)
    check_csrf(session, form.get("csrf_token"))
    return form


def check_csrf(session: Session, token: object) -> None:
    """Refuse a form post whose token is not this session's."""
    if not same_token(token, session.csrf):
        raise PageError(
            403, "Form expired", "The form was not sent from this session. Reload and try again."
        )


# ---------------------------------------------------------------------- API

_bearer = HTTPBearer(
    auto_error=False, description="An API client token from `hub teams add-client <area>`."
)


API_CLIENT = "api_client"
"""Where :class:`~hub.web.body.BearerGate` puts the authenticated client in the state."""


def api_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiClient:
    """The client whose token the request carries (401 otherwise)."""
    client = getattr(request.state, API_CLIENT, None)
    if client is None:  # not behind the gate (it answers 401 itself): check here
        token = credentials.credentials if credentials is not None else ""
        client = deps_of(request).accounts.authenticate_client(token) if token else None
    if not isinstance(client, ApiClient):
        raise ProblemError(
            401,
            "Unauthorized",
            "A valid API client token is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return client


def api_area(
    request: Request, area: str, caller: Annotated[ApiClient, Depends(api_caller)]
) -> ApiClient:
    """The caller, if its token is for the area in the path and that area is served here."""
    which = _area(area)
    if which is None:
        raise ProblemError(404, "Not Found", f"There is no area {area!r}.")
    if which is not caller.area:
        raise ProblemError(
            403,
            "Forbidden",
            f"This token is for {caller.area.value}; it may not read {which.value}.",
        )
    if which not in deps_of(request).areas:
        raise ProblemError(404, "Not Found", f"This instance does not serve {which.value}.")
    return caller


ApiCaller = Annotated[ApiClient, Depends(api_area)]


def _area(text: str) -> Area | None:
    try:
        return Area(text)
    except ValueError:
        return None
