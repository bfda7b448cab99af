"""Operational detail (metrics, counts per area, the monitor) is for operators only.

An operator is a caller with the ops token (``HUB_HTTP__OPS_TOKEN``), sent as a
bearer token or as the password of HTTP Basic (so a browser can open the monitor's
page); with no token configured, a client on the loopback interface. With a token
configured, loopback alone is not enough: a reverse proxy on the same host would
otherwise make every caller an operator. Without the token, ``/health`` answers only
whether the process is ready.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress

from fastapi import HTTPException, Request
from pydantic import SecretStr

CHALLENGE = 'Bearer, Basic realm="safeguarding hub", charset="UTF-8"'


def presented_secret(authorization: str) -> bytes | None:
    """The secret of an ``Authorization`` header: a bearer token or a Basic password."""
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value.encode("utf-8", "surrogateescape")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        return decoded.partition(b":")[2]
    return None


def is_loopback(host: str | None) -> bool:
    """True for an address on the loopback interface."""
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_operator(request: Request, token: SecretStr | None) -> bool:
    """May this caller see operational detail?"""
    if token is None:
        return is_loopback(request.client.host if request.client else None)
    secret = presented_secret(request.headers.get("authorization", ""))
    expected = token.get_secret_value().encode()
    return secret is not None and hmac.compare_digest(secret, expected)


def require_operator(request: Request, token: SecretStr | None) -> None:
    """Raise ``401`` (a token is configured) or ``403`` (loopback only) for anyone else."""
    if is_operator(request, token):
        return
    if token is None:
        raise HTTPException(
            403, "Served to loopback clients only; set HUB_HTTP__OPS_TOKEN to serve others."
        )
    raise HTTPException(401, "The ops token is required.", {"WWW-Authenticate": CHALLENGE})
