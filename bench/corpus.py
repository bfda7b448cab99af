"""A corpus of bad partner input, generated here (no binary files are committed).

For every parser of every endpoint (police JSON and CSV, FHIR JSON and XML, housing
JSON, DASH JSON) the corpus holds malformed, truncated, oversized, wrongly encoded and
hostile variants of the documented example, plus wrong content types and credentials.
Each :class:`Case` builds its body only when asked: some are tens of megabytes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from connectors.registry import connector_for
from hub.settings import PROJECT_ROOT
from schemas.common import Partner

EXAMPLES = PROJECT_ROOT / "docs" / "formats" / "examples"
Body = bytes | Callable[[], AsyncIterator[bytes]]


@dataclass(frozen=True)
class Target:
    """One parser behind one endpoint."""

    name: str
    partner: Partner
    content_type: str
    example: Path
    number_field: str
    """A numeric field of the format, for the huge-number cases."""
    duplicate: tuple[str, str]
    """A top-level key and a different valid value for it, for the duplicate-key case."""

    @property
    def path(self) -> str:
        """The endpoint."""
        return connector_for(self.partner).http_path

    @property
    def limit(self) -> int:
        """The endpoint's body limit."""
        return connector_for(self.partner).max_body_bytes

    def valid(self) -> bytes:
        """The documented example."""
        return self.example.read_bytes()


TARGETS = (
    Target(
        "police-json",
        Partner.POLICE,
        "application/json",
        EXAMPLES / "police" / "notification-domestic-abuse.json",
        "risk_score",
        ("risk_grade", "Low"),
    ),
    Target(
        "police-csv",
        Partner.POLICE,
        "text/csv",
        EXAMPLES / "police" / "batch.csv",
        "risk_score",
        ("", ""),
    ),
    Target(
        "health-json",
        Partner.HEALTH,
        "application/fhir+json",
        EXAMPLES / "health" / "message-bundle.json",
        "total",
        ("id", "another-bundle-id"),
    ),
    Target(
        "health-xml",
        Partner.HEALTH,
        "application/fhir+xml",
        EXAMPLES / "health" / "message-bundle.xml",
        "total",
        ("", ""),
    ),
    Target(
        "housing-json",
        Partner.HOUSING,
        "application/json",
        EXAMPLES / "housing" / "referral-family.json",
        "reference",
        ("reference", "PRB/2026/9999"),
    ),
    Target(
        "da-json",
        Partner.DOMESTIC_ABUSE,
        "application/json",
        EXAMPLES / "domestic-abuse" / "assessment-high-risk.json",
        "reference",
        ("reference", "IDVA-2026-9999"),
    ),
)


@dataclass(frozen=True)
class Case:
    """One bad request: which target, what body, which content type and credential."""

    target: Target
    name: str
    body: Callable[[], Body]
    content_type: str | None
    credential: str = "own"
    """``own``, ``none`` (no Authorization header) or ``other`` (another partner's)."""


def cases() -> list[Case]:
    """Every case of the corpus."""
    out: list[Case] = []
    for target in TARGETS:
        out += _generic(target)
        if target.content_type.endswith("json"):
            out += _json(target)
        if target.content_type.endswith("xml"):
            out += _xml(target)
        if target.content_type == "text/csv":
            out += _csv(target)
    return out


def _generic(t: Target) -> list[Case]:
    ct = t.content_type
    half = len(t.valid()) // 2
    return [
        Case(t, "no credential", t.valid, ct, credential="none"),
        Case(t, "another partner's credential", t.valid, ct, credential="other"),
        Case(t, "empty body", lambda: b"", ct),
        Case(t, "whitespace only", lambda: b" \n\t " * 100, ct),
        Case(t, "truncated at half", lambda: t.valid()[:half], ct),
        Case(t, "truncated by one byte", lambda: t.valid().rstrip()[:-1], ct),
        Case(t, "garbage bytes", lambda: bytes(range(256)) * 64, ct),
        Case(t, "NUL bytes inside", lambda: t.valid()[:half] + b"\0" * 64 + t.valid()[half:], ct),
        Case(t, "invalid UTF-8", lambda: t.valid().replace(b"e", b"\xc3\x28", 5), ct),
        Case(t, "overlong UTF-8 encoding", lambda: t.valid().replace(b"e", b"\xc1\xa5", 3), ct),
        Case(t, "UTF-16 with BOM", lambda: t.valid().decode().encode("utf-16"), ct),
        Case(
            t,
            "UTF-16, charset declared",
            lambda: t.valid().decode().encode("utf-16"),
            f"{ct}; charset=utf-16",
        ),
        Case(t, "Latin-1 charset declared", t.valid, f"{ct}; charset=iso-8859-1"),
        Case(t, "oversized (limit + 1, Content-Length)", lambda: b" " * (t.limit + 1), ct),
        Case(t, "oversized, chunked (no Content-Length)", lambda: _chunked(t.limit + 1), ct),
        Case(t, "no content type", t.valid, None),
        Case(t, "text/plain", t.valid, "text/plain"),
        Case(
            t,
            "form-urlencoded",
            lambda: b"reference=1&force_code=47",
            "application/x-www-form-urlencoded",
        ),
        Case(
            t,
            "multipart/form-data",
            lambda: _multipart(t.valid()),
            "multipart/form-data; boundary=xyz",
        ),
        Case(t, "XML billion laughs (as its content type)", _billion_laughs, "application/xml"),
    ]


def _json(t: Target) -> list[Case]:
    ct = t.content_type
    doc = json.loads(t.valid())

    def with_raw(value: str) -> Callable[[], bytes]:
        def build() -> bytes:
            text = json.dumps({**doc, t.number_field: "@@"})
            return text.replace('"@@"', value).encode()

        return build

    def with_duplicate() -> bytes:
        # Both values are valid on their own: only the repeated key makes it ambiguous.
        key, other = t.duplicate
        return (json.dumps(doc)[:-1] + f", {json.dumps(key)}: {json.dumps(other)}}}").encode()

    return [
        Case(t, "not JSON", lambda: b"<html>hello</html>", ct),
        Case(t, "JSON null", lambda: b"null", ct),
        Case(t, "JSON array", lambda: b"[]", ct),
        Case(t, "JSON string", lambda: b'"notification"', ct),
        Case(t, "JSON number 1e400", lambda: b"1e400", ct),
        Case(t, "empty object", lambda: b"{}", ct),
        Case(t, "trailing garbage", lambda: t.valid() + b"}}}", ct),
        Case(t, "nested arrays 100k deep", lambda: b"[" * 100_000 + b"]" * 100_000, ct),
        Case(t, "nested objects 100k deep", lambda: b'{"a":' * 100_000 + b"1" + b"}" * 100_000, ct),
        Case(t, f"{t.number_field} = 1e400", with_raw("1e400"), ct),
        Case(t, f"{t.number_field} = 10**5000 digits", with_raw("9" * 5000), ct),
        Case(t, f"{t.number_field} = NaN", with_raw("NaN"), ct),
        Case(t, f"{t.number_field} = -Infinity", with_raw("-Infinity"), ct),
        Case(t, "duplicate keys", with_duplicate, ct),
        Case(t, "lone surrogate escape", with_raw('"\\ud800"'), ct),
        Case(t, "900 KB string", with_raw(json.dumps("x" * 900_000)), ct),
        Case(t, "100k-element array", with_raw("[" + ",".join(["1"] * 100_000) + "]"), ct),
        Case(t, "wrong types everywhere", lambda: json.dumps({k: [] for k in doc}).encode(), ct),
    ]


def _xml(t: Target) -> list[Case]:
    ct = t.content_type
    valid = t.valid()
    return [
        Case(t, "billion laughs", _billion_laughs, ct),
        Case(t, "external entity (XXE, file)", lambda: _xxe(valid, "file:///etc/passwd"), ct),
        Case(t, "external entity (XXE, http)", lambda: _xxe(valid, "http://127.0.0.1:9/x"), ct),
        Case(t, "external DTD", lambda: _external_dtd(valid), ct),
        Case(t, "nested elements 100k deep", lambda: b"<a>" * 100_000 + b"</a>" * 100_000, ct),
        Case(t, "unclosed element", lambda: valid.replace(b"</Bundle>", b""), ct),
        Case(t, "mismatched end tag", lambda: valid.replace(b"</entry>", b"</entri>", 1), ct),
        Case(t, "UTF-16 declared, UTF-8 sent", lambda: valid.replace(b'"UTF-8"', b'"UTF-16"'), ct),
        Case(t, "foreign namespace", lambda: valid.replace(b"http://hl7.org/fhir", b"urn:x"), ct),
        Case(t, "JSON sent as XML", lambda: b'{"resourceType": "Bundle"}', ct),
    ]


def _csv(t: Target) -> list[Case]:
    ct = t.content_type
    valid = t.valid()
    header, _, rows = valid.partition(b"\n")
    return [
        Case(t, "a million columns", lambda: b",".join([b"c"] * 1_000_000) + b"\n1\n", ct),
        Case(t, "header only", lambda: header + b"\n", ct),
        Case(t, "no header", lambda: rows, ct),
        Case(t, "200 KB cell", lambda: header + b"\n" + b'"' + b"x" * 200_000 + b'"\n', ct),
        Case(t, "unbalanced quote", lambda: valid.replace(b",", b',"', 1), ct),
        Case(
            t, "extra columns in a row", lambda: header + b"\n" + rows.replace(b"\n", b",x,y\n"), ct
        ),
        Case(t, "100k empty rows", lambda: header + b"\n" + b",\n" * 100_000, ct),
        Case(
            t,
            "JSON sent as CSV",
            lambda: EXAMPLES.joinpath("police", "notification-domestic-abuse.json").read_bytes(),
            ct,
        ),
    ]


def _billion_laughs() -> bytes:
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE lolz [", '<!ENTITY lol0 "lol">']
    lines += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    lines += ["]>", '<Bundle xmlns="http://hl7.org/fhir"><id value="&lol9;"/></Bundle>']
    return "\n".join(lines).encode()


def _xxe(valid: bytes, system: str) -> bytes:
    doctype = f'<!DOCTYPE Bundle [<!ENTITY xxe SYSTEM "{system}">]>'.encode()
    body = _after_decl(valid, doctype)
    return body.replace(b'<id value="', b'<id value="&xxe;', 1)


def _external_dtd(valid: bytes) -> bytes:
    return _after_decl(valid, b'<!DOCTYPE Bundle SYSTEM "http://127.0.0.1:9/fhir.dtd">')


def _after_decl(valid: bytes, insert: bytes) -> bytes:
    declaration, _, rest = valid.partition(b"?>")
    return declaration + b"?>\n" + insert + rest


def _multipart(valid: bytes) -> bytes:
    return (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="x.json"\r\n'
        b"Content-Type: application/json\r\n\r\n" + valid + b"\r\n--xyz--\r\n"
    )


def _chunked(size: int) -> Callable[[], AsyncIterator[bytes]]:
    async def chunks() -> AsyncIterator[bytes]:
        left = size
        while left > 0:
            piece = min(left, 1 << 20)
            yield b" " * piece
            left -= piece

    return chunks
