"""What every registered connector does alike, run for each partner in the registry.

The per-partner suites test what only that partner's format means; everything a
connector owes the hub whatever its format is here, once.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any, get_type_hints

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.errors import FieldError, ParseFailed
from connectors.identity import message_id_for
from connectors.protocol import Connector, ErrorDocument, ParseContext
from connectors.registry import all_connectors, connector_for
from hub.errors import ConfigurationError
from hub.settings import PROJECT_ROOT
from schemas.common import Partner
from tests.unit.connectors.documents import at, replaced
from tests.unit.connectors.fuzzkit import (
    FUZZ,
    Mutation,
    duplicated_keys,
    json_values,
    mutated_documents,
    parses_or_fails_precisely,
)
from tests.unit.connectors.partners import (
    CASES,
    CONTEXT,
    DOMESTIC_ABUSE,
    FORMATS,
    HOUSING,
    POLICE,
    Example,
    PartnerCase,
)

LATER = ParseContext(
    received_at=datetime(2026, 12, 1, tzinfo=UTC), subject_key_secret=CONTEXT.subject_key_secret
)
OTHER_SECRET = ParseContext(received_at=CONTEXT.received_at, subject_key_secret=b"o" * 32)
HMAC_HEX = re.compile(r"[0-9a-f]{64}")
GOLDEN = PROJECT_ROOT / "tests" / "data" / "golden"
"""Per partner and example, the envelope's parts that example must map to exactly."""
GOLDEN_EXAMPLES = [
    pytest.param(case, example, id=f"{case.partner.value}-{example.removesuffix('.json')}")
    for case, example in (
        (DOMESTIC_ABUSE, "assessment-high-risk.json"),
        (DOMESTIC_ABUSE, "assessment-professional-judgement.json"),
        (HOUSING, "referral-young-person.json"),
        (POLICE, "notification-domestic-abuse.json"),
        (POLICE, "notification-adults-only.json"),
    )
]
OTHER_MEDIA_TYPES = (
    "text/plain",
    "application/xml",
    "text/csv",
    "application/x-www-form-urlencoded",
)

NOT_UTF8 = {
    "utf-16-bom": b"\xff\xfe{}",
    "bad-continuation": b"\xc3\x28",
    "encoded-surrogate": b"\xed\xa0\x80",
}
INVALID_JSON = {
    "bare-word": (b"{not json", ""),
    "single-quotes": (b"{'single': 'quotes'}", ""),
    "unclosed": (b"{", ""),
    "lone-surrogate": (b'{"summary": "\\ud800"}', ""),
    "trailing-data": (b"{} {}", "trailing characters"),
    "huge-number": (b'{"risk_score": ' + b"9" * 5000 + b"}", "number out of range"),
    "deep-array": (b"[" * 5000 + b"]" * 5000, "recursion limit"),
    "deep-field": (b'{"household": ' + b"[" * 3000 + b"]" * 3000 + b"}", "recursion limit"),
    "deep-unclosed": (b'{"children": ' + b"{" * 3000, ""),
}
NOT_AN_OBJECT = {
    "array": b"[]",
    "array-of-numbers": b"[1, 2]",
    "number": b"42",
    "infinite-number": b"1e999",
    "string": b'"text"',
    "null": b"null",
    "boolean": b"true",
}

by_case = pytest.mark.parametrize("case", CASES, ids=str)
by_example = pytest.mark.parametrize(
    "example", [e for c in CASES for e in c.sent_examples()], ids=str
)
by_document = pytest.mark.parametrize(
    ("case", "doc"),
    [pytest.param(c, doc, id=f"{c}-{i}") for c in CASES for i, doc in enumerate(c.json_documents)],
)
by_content_type = pytest.mark.parametrize(
    ("case", "content_type"), [pytest.param(c, t, id=f"{c}-{t}") for c in CASES for t in c.bodies]
)
by_refused_media_type = pytest.mark.parametrize(
    ("case", "content_type"),
    [
        pytest.param(c, t, id=f"{c}-{t}")
        for c in CASES
        for t in OTHER_MEDIA_TYPES
        if t not in c.bodies
    ],
)


class TestRegistry:
    """The registry finds one connector per partner, and nothing else."""

    @by_case
    def test_finds_the_partners_connector(self, case: PartnerCase) -> None:
        """By partner or by its name: the CONNECTOR of the partner's package."""
        connector = connector_for(case.partner)
        assert isinstance(connector, case.connector_class)
        assert connector is importlib.import_module(case.connector_class.__module__).CONNECTOR
        assert connector_for(case.partner.value) is connector

    def test_every_partner_has_one_connector_with_its_own_path(self) -> None:
        """all_connectors lists the partners in order; no two share an endpoint."""
        connectors = all_connectors()
        assert [c.partner for c in connectors] == list(Partner) == [c.partner for c in CASES]
        assert len({c.http_path for c in connectors}) == len(connectors)

    def test_unknown_partner_is_a_configuration_error(self) -> None:
        """A name that is no partner fails at start-up, not later."""
        with pytest.raises(ConfigurationError, match="unknown partner 'fire'"):
            connector_for("fire")


class TestProtocol:
    """Each connector has every member the Protocol declares, with the design's values."""

    @by_case
    def test_declares_every_member(self, case: PartnerCase) -> None:
        """Attributes of the declared types; methods with the Protocol's parameters."""
        connector = case.connector
        for name in get_type_hints(Connector):
            assert hasattr(connector, name), name
        for name in ("parse", "error_document"):
            declared = list(inspect.signature(getattr(Connector, name)).parameters)[1:]
            assert list(inspect.signature(getattr(connector, name)).parameters) == declared
        assert isinstance(connector.partner, Partner)
        assert isinstance(connector.kinds, frozenset)
        assert isinstance(connector.content_types, tuple)
        assert isinstance(connector.max_body_bytes, int)

    @by_case
    def test_transport_description(self, case: PartnerCase) -> None:
        """Partner, endpoint, content types, body limit and kinds are as the design says."""
        connector = case.connector
        assert connector.partner is case.partner
        assert connector.http_path == case.http_path
        assert connector.content_types == tuple(case.bodies)
        assert connector.max_body_bytes == max(body.limit for body in case.bodies.values())
        assert connector.kinds == case.kinds

    @by_case
    def test_error_document(self, case: PartnerCase) -> None:
        """A refusal has the format's own error document, or None for problem details."""
        error = ParseFailed([FieldError("body", "empty")])
        document = case.connector.error_document(error, case.json_type)
        if case.error_media_type is None:
            assert document is None
        else:
            assert isinstance(document, ErrorDocument)
            assert document.media_type == case.error_media_type
            assert json.loads(document.body)


class TestPublishedFormat:
    """The committed JSON Schemas match the models, and every example parses cleanly."""

    @pytest.mark.parametrize("case", [c for c in CASES if c.schema], ids=str)
    def test_schema_file_matches_models(self, case: PartnerCase) -> None:
        """The committed schema is the models' schema (regenerate it as the format doc says)."""
        assert case.schema is not None
        name, model = case.schema
        assert json.loads((FORMATS / name).read_text()) == model.model_json_schema()

    @by_case
    def test_every_content_type_has_an_example(self, case: PartnerCase) -> None:
        """The examples show each content type the connector takes."""
        assert {e.content_type for e in case.sent_examples()} == set(case.bodies)

    @by_example
    def test_example_parses_without_findings(self, example: Example) -> None:
        """Each example gives envelopes of the partner's kinds, quality 100, at the clock's time."""
        envelopes = example.parse()
        assert envelopes
        for envelope in envelopes:
            assert envelope.partner is example.case.partner
            assert envelope.kind in example.case.connector.kinds
            assert envelope.received_at == CONTEXT.received_at
            assert envelope.quality.score == 100
            assert envelope.quality.findings == ()


class TestIdentity:
    """Message ids are deterministic; subject keys are keyed hashes, never identifiers."""

    @by_example
    def test_message_id_is_derived_from_the_reference(self, example: Example) -> None:
        """Partner, org code, reference and the message's place under it make the id."""
        places: Counter[tuple[str, str]] = Counter()
        for envelope in example.parse():
            source = (envelope.source.org_code, envelope.source.partner_reference)
            expected = message_id_for(example.case.partner, *source, places[source])
            assert envelope.message_id == expected
            places[source] += 1

    @by_example
    def test_resend_gives_the_same_ids_and_keys(self, example: Example) -> None:
        """The same bytes received later: same ids and subject keys, in the same order."""
        first, again = example.parse(), example.parse(LATER)
        assert [e.message_id for e in first] == [e.message_id for e in again]
        assert [[s.subject_key for s in e.subjects] for e in first] == [
            [s.subject_key for s in e.subjects] for e in again
        ]
        assert all(e.received_at == LATER.received_at for e in again)

    @by_document
    def test_resend_of_a_document_gives_the_same_ids(
        self, case: PartnerCase, doc: dict[str, Any]
    ) -> None:
        """Every valid document, sent twice, gets the same ids."""
        first = [e.message_id for e in case.parse_all(doc)]
        assert first == [e.message_id for e in case.parse_all(doc, LATER)]

    @by_document
    def test_another_reference_is_another_message(
        self, case: PartnerCase, doc: dict[str, Any]
    ) -> None:
        """Changing any value the id is made of changes every id."""
        first = {e.message_id for e in case.parse_all(doc)}
        for path in case.identity:
            changed = replaced(doc, path, at(doc, path) + "9")
            assert first.isdisjoint(e.message_id for e in case.parse_all(changed))

    @by_document
    def test_subject_keys_are_keyed_hashes(self, case: PartnerCase, doc: dict[str, Any]) -> None:
        """Keys are HMAC-SHA256 hex, hold no NHS number, and change with the secret."""
        rekeyed = case.parse_all(doc, OTHER_SECRET)
        for envelope, other in zip(case.parse_all(doc), rekeyed, strict=True):
            keys = [s.subject_key for s in envelope.subjects]
            assert envelope.subject_key in keys
            for subject in envelope.subjects:
                assert HMAC_HEX.fullmatch(subject.subject_key)
                assert subject.nhs_number is None or subject.nhs_number not in subject.subject_key
            assert set(keys).isdisjoint(s.subject_key for s in other.subjects)


class TestContentType:
    """Only the connector's media types, in UTF-8, are read."""

    @by_example
    def test_case_and_charset_parameter_are_accepted(self, example: Example) -> None:
        """Media types are case-insensitive; charset=utf-8 may be given, quoted or not."""
        expected = example.parse()
        media = example.content_type
        for header in (f"{media.upper()}; charset=UTF-8", f'{media}; charset="utf-8"'):
            assert example.parse(content_type=header) == expected

    @by_refused_media_type
    def test_other_media_types_are_refused(self, case: PartnerCase, content_type: str) -> None:
        """A media type the connector does not take is refused as content-type, naming it."""
        errors = case.failures(case.example_of(case.json_type), content_type)
        assert list(errors) == ["content-type"]
        assert errors["content-type"].startswith(f"{content_type} is not supported; send ")

    @by_case
    def test_empty_content_type_is_refused(self, case: PartnerCase) -> None:
        """No content type at all is refused as content-type."""
        errors = case.failures(case.example_of(case.json_type), "")
        assert errors["content-type"].startswith("an empty content type is not supported")

    @by_content_type
    def test_other_charset_is_refused(self, case: PartnerCase, content_type: str) -> None:
        """Every native format is UTF-8: another charset is refused."""
        errors = case.failures(case.example_of(content_type), f"{content_type}; charset=latin-1")
        assert errors == {"content-type": "only charset=utf-8 is supported"}


class TestBody:
    """Empty, oversized and unreadable bodies are refused as the body, precisely."""

    @by_content_type
    @pytest.mark.parametrize("raw", [b"", b"   \n"], ids=["empty", "blank"])
    def test_empty_body(self, case: PartnerCase, content_type: str, raw: bytes) -> None:
        """Nothing, or only white space, is an empty document."""
        body = case.bodies[content_type]
        assert case.failures(raw, content_type) == {"body": f"{body.what} is empty"}

    @by_content_type
    def test_body_over_the_limit(self, case: PartnerCase, content_type: str) -> None:
        """A body one byte over the content type's limit is refused before it is read."""
        body = case.bodies[content_type]
        raw = case.example_of(content_type)
        raw += b"\n" * (body.limit + 1 - len(raw))
        assert case.failures(raw, content_type) == {
            "body": f"{body.what} is larger than {body.limit} bytes"
        }

    @by_case
    def test_json_at_the_limit_is_read(self, case: PartnerCase) -> None:
        """A JSON document of exactly the limit, white space included, is read."""
        limit = case.bodies[case.json_type].limit
        raw = case.example_of(case.json_type)
        assert case.connector.parse(raw + b" " * (limit - len(raw)), case.json_type, CONTEXT)

    @by_case
    def test_byte_order_mark_is_accepted(self, case: PartnerCase) -> None:
        """A UTF-8 byte-order mark before the JSON is ignored."""
        raw = case.example_of(case.json_type)
        expected = case.connector.parse(raw, case.json_type, CONTEXT)
        assert case.connector.parse(b"\xef\xbb\xbf" + raw, case.json_type, CONTEXT) == expected

    @by_case
    @pytest.mark.parametrize("raw", NOT_UTF8.values(), ids=NOT_UTF8)
    def test_not_utf8(self, case: PartnerCase, raw: bytes) -> None:
        """Bytes that are not UTF-8 are refused as the body."""
        errors = case.failures(raw)
        assert list(errors) == ["body"]
        assert case.body_errors["not_utf8"] in errors["body"]

    @by_case
    @pytest.mark.parametrize(("raw", "detail"), INVALID_JSON.values(), ids=INVALID_JSON)
    def test_invalid_json(self, case: PartnerCase, raw: bytes, detail: str) -> None:
        """Text that is not one JSON document is refused as the body, saying where."""
        errors = case.failures(raw)
        assert list(errors) == ["body"]
        assert case.body_errors["invalid"] in errors["body"]
        assert detail in errors["body"]

    @by_case
    @pytest.mark.parametrize("raw", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT)
    def test_not_an_object(self, case: PartnerCase, raw: bytes) -> None:
        """JSON that is not an object is refused as the body."""
        assert case.failures(raw) == {"body": case.body_errors["not_object"]}

    @by_document
    def test_repeated_key_is_refused(self, case: PartnerCase, doc: dict[str, Any]) -> None:
        """Parsers disagree on which of two equal keys wins, so neither is accepted."""
        text = json.dumps(doc)
        repeated = text.replace("{", '{"' + next(iter(doc)) + '": "decoy", ', 1)
        errors = case.failures(repeated.encode())
        assert list(errors) == ["body"]
        assert "appears twice" in errors["body"]


class TestFieldErrors:
    """Errors name the field and the reason, all at once."""

    @by_case
    def test_empty_object_names_every_required_field(self, case: PartnerCase) -> None:
        """An empty JSON object is refused with one error per required field."""
        assert case.failures(b"{}") == case.required

    @by_document
    def test_unknown_field_is_named(self, case: PartnerCase, doc: dict[str, Any]) -> None:
        """A field the format does not define is refused by name."""
        assert case.doc_failures(doc | {"favourite_colour": "blue"}) == {
            f"{case.root}favourite_colour": "Extra inputs are not permitted"
        }


class TestNeverCrashes:
    """Whatever arrives, parse returns envelopes or raises ParseFailed, nothing else."""

    @by_case
    @FUZZ
    @given(data=st.data(), raw=st.binary(max_size=2000))
    def test_arbitrary_bytes(self, case: PartnerCase, data: st.DataObject, raw: bytes) -> None:
        """Random bytes, as any content type the connector takes."""
        content_type = data.draw(st.sampled_from(list(case.bodies)))
        parses_or_fails_precisely(case.connector, raw, content_type, CONTEXT)

    @by_case
    @pytest.mark.parametrize(
        "mutation", [mutated_documents, duplicated_keys], ids=["changed-keys", "repeated-key"]
    )
    @FUZZ
    @given(data=st.data())
    def test_mutated_documents(
        self, case: PartnerCase, mutation: Mutation, data: st.DataObject
    ) -> None:
        """Valid documents with keys dropped, replaced, of the wrong type or repeated."""
        raw = data.draw(mutation(case.json_documents, json_values(case.samples)))
        parses_or_fails_precisely(case.connector, raw, case.json_type, CONTEXT)


@pytest.mark.parametrize(("case", "example"), GOLDEN_EXAMPLES)
def test_a_format_example_maps_to_its_golden_parts(case: PartnerCase, example: str) -> None:
    """Source, kind, times, risk and consent, whichever its golden file records, exactly."""
    golden: dict[str, Any] = json.loads((GOLDEN / case.partner.value / example).read_text())
    envelope = case.parse_doc(case.load(example))
    assert envelope.model_dump(mode="json", include=set(golden)) == golden
