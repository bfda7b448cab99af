"""What the hub's three web front doors share: errors, headers, limits, serving.

The partner ingest, the team queue and the monitor are :class:`HubApp` apps
(:mod:`hub.web.app`): every error is RFC 9457 problem details and every response has
the security headers (:mod:`hub.web.problems`); bodies are read only after
authenticating and never beyond a limit (:mod:`hub.web.body`); callers are limited
with token buckets keyed by client address (:mod:`hub.web.throttle`); operational
detail is for operators only (:mod:`hub.web.ops`); and every app is served with one
configuration (:mod:`hub.web.serving`) whose HTTP protocol bounds how long a request
may take to arrive (:mod:`hub.web.receipt`).
"""

from hub.web.app import HubApp, add_problem_handlers, answer
from hub.web.problems import (
    PROBLEM,
    SECURITY_HEADERS,
    ErrorRenderer,
    Problem,
    problem,
    problem_response,
    validation_problems,
)
from hub.web.serving import http_config, raise_open_file_limit
from hub.web.throttle import TokenBuckets, address_key, client_key

__all__ = [
    "PROBLEM",
    "SECURITY_HEADERS",
    "ErrorRenderer",
    "HubApp",
    "Problem",
    "TokenBuckets",
    "add_problem_handlers",
    "address_key",
    "answer",
    "client_key",
    "http_config",
    "problem",
    "problem_response",
    "raise_open_file_limit",
    "validation_problems",
]
