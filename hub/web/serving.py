"""How every hub web app is served: one uvicorn configuration.

Our logging and no access log; HTTPS when a certificate is given; the request-receipt
deadline protocol (:mod:`hub.web.receipt`) instead of uvicorn's ``limit_concurrency``
(which counted half-sent requests and answered everyone else ``503``); the open-file
limit raised to its hard limit, so that held connections cannot run the process out
of descriptors before the guard sheds them; ``X-Forwarded-*`` believed only from the
configured proxies (uvicorn would otherwise trust ``127.0.0.1`` or whatever
``FORWARDED_ALLOW_IPS`` says).
"""

from __future__ import annotations

import ipaddress
import resource
from pathlib import Path
from typing import Any

import uvicorn

from hub.errors import ConfigurationError
from hub.settings import HttpSettings
from hub.web.receipt import ReceiptGuard, ReceiptLimits

DESCRIPTOR_HEADROOM = 256
"""Descriptors kept for everything but client connections (Kafka, files, logs)."""
UNLIMITED_FILES = 1 << 16
"""The soft limit aimed for when the hard limit is unlimited."""


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return UNLIMITED_FILES
    target = UNLIMITED_FILES if hard == resource.RLIM_INFINITY else hard
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def receipt_limits(settings: HttpSettings, open_files: int) -> ReceiptLimits:
    """The deadline protocol's limits, ``max_connections`` sized from ``open_files``."""
    most = settings.max_connections or max(64, open_files - DESCRIPTOR_HEADROOM)
    return ReceiptLimits(
        header_s=settings.header_timeout_s,
        body_grace_s=settings.body_grace_s,
        body_min_rate=settings.body_min_bytes_per_s,
        per_peer=settings.max_connections_per_client,
        max_connections=most,
        exempt=tuple(ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies),
    )


def http_config(
    app: Any,
    host: str,
    port: int,
    settings: HttpSettings,
    *,
    certfile: Path | None = None,
    keyfile: Path | None = None,
) -> uvicorn.Config:
    """How every hub web app is served (see the module docstring)."""
    if (certfile is None) != (keyfile is None):
        raise ConfigurationError("a TLS certificate needs its key, and a key its certificate")
    guard = ReceiptGuard(receipt_limits(settings, raise_open_file_limit()))
    proxies = list(settings.trusted_proxies)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guard.protocol(),
        log_config=None,
        access_log=False,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or [],
        server_header=False,
        timeout_graceful_shutdown=30,
    )
