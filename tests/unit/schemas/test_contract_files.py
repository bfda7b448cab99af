"""The committed contracts (schemas/json, docs/asyncapi.yaml) match the code and say the truth."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from hub.audit import GENESIS, Anchor, ChainHead, checkpoint_record
from hub.broker.topics import TopicSpec, load_topics_file
from hub.cli.schemas import TOPICS_FILE, app
from hub.contracts.asyncapi import DOCUMENT_PATH, asyncapi_yaml
from hub.errors import SchemaViolationError
from hub.router.handler import CHAIN_HEAD_KEY, InRecord, dead_letter
from hub.router.history import Contact, SubjectState
from hub.router.replay import routed_id_value
from hub.security.keys import SecretKey
from hub.security.mac import Link, RecordMac
from hub.security.signing import Signer
from hub.settings import PROJECT_ROOT
from hub.teams.outcomes import refusal_headers
from schemas.common import Area, Partner
from schemas.envelope import Envelope
from schemas.export import CONTRACTS, JSON_DIR, SCHEMA_DIALECT, ContractSchema, schema_files
from tests.factories import envelope, subject

REGENERATE = "run `hub schemas export` and commit the result"
SCHEMA_DIR = PROJECT_ROOT / JSON_DIR
DOCUMENT = PROJECT_ROOT / DOCUMENT_PATH


@pytest.fixture(scope="module")
def topics() -> list[TopicSpec]:
    return load_topics_file(PROJECT_ROOT / "deploy" / "topics.yaml", "local")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def committed_schema(contract: ContractSchema) -> dict[str, Any]:
    loaded = json.loads((SCHEMA_DIR / contract.file_name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def resolve(root: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer (``#/a/b``) inside ``root``."""
    assert ref.startswith("#/"), f"{ref} is not a local reference"
    node: Any = root
    for part in ref[2:].split("/"):
        key = unquote(part).replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref}: {key} is not inside an object"
        assert key in node, f"{ref} does not resolve: no {key!r}"
        node = node[key]
    return node


def refs_in(node: Any) -> list[str]:
    """Every ``$ref`` value anywhere in ``node``."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs_in(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs_in(item)]
    return []


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def problems(value: Any, schema: dict[str, Any], root: dict[str, Any], at: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema``: a small checker for the keywords pydantic emits."""
    if "$ref" in schema:
        return problems(value, resolve(root, schema["$ref"]), root, at)
    if "anyOf" in schema:
        fits = any(not problems(value, branch, root, at) for branch in schema["anyOf"])
        return [] if fits else [f"{at}: fits no branch of anyOf"]
    kind = schema.get("type")
    wrong_bool = isinstance(value, bool) and kind in {"integer", "number"}
    if kind is not None and (not isinstance(value, _TYPES[kind]) or wrong_bool):
        return [f"{at}: not of type {kind}"]
    if isinstance(value, dict):
        return object_problems(value, schema, root, at)
    if isinstance(value, list):
        items = schema.get("items", {})
        return [
            p for i, item in enumerate(value) for p in problems(item, items, root, f"{at}[{i}]")
        ]
    found = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: {value!r} is not one of the enum")
    if "const" in schema and value != schema["const"]:
        found.append(f"{at}: {value!r} is not {schema['const']!r}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{at}: {value!r} does not match {schema['pattern']}")
    return found


def object_problems(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], at: str
) -> list[str]:
    """Required, unknown and invalid properties of one object."""
    properties = schema.get("properties", {})
    found = [f"{at}.{k}: required" for k in schema.get("required", []) if k not in value]
    if schema.get("additionalProperties") is False:
        found += [f"{at}.{k}: not allowed" for k in value if k not in properties]
    for k, v in value.items():
        if k in properties:
            found += problems(v, properties[k], root, f"{at}.{k}")
    return found


class TestCommittedFilesMatchTheCode:
    @pytest.mark.parametrize("name", sorted(schema_files()))
    def test_schema_file_is_up_to_date(self, name: str) -> None:
        """Each committed JSON Schema is exactly what its model produces now."""
        path = SCHEMA_DIR / name
        assert path.is_file(), f"{path.relative_to(PROJECT_ROOT)} is missing: {REGENERATE}"
        assert path.read_text(encoding="utf-8") == schema_files()[name], (
            f"{path.relative_to(PROJECT_ROOT)} is out of date with the models: {REGENERATE}"
        )

    def test_no_stale_schema_files(self) -> None:
        """Every file in schemas/json is produced by a contract model."""
        stale = {p.name for p in SCHEMA_DIR.iterdir()} - set(schema_files())
        assert not stale, f"{sorted(stale)} in {JSON_DIR} come from no model: {REGENERATE}"

    def test_asyncapi_document_is_up_to_date(self, topics: list[TopicSpec]) -> None:
        """docs/asyncapi.yaml is exactly what the models and the topics file produce now."""
        assert DOCUMENT.is_file(), f"{DOCUMENT_PATH} is missing: {REGENERATE}"
        assert DOCUMENT.read_text(encoding="utf-8") == asyncapi_yaml(topics), (
            f"{DOCUMENT_PATH} is out of date with the models or {TOPICS_FILE}: {REGENERATE}"
        )


class TestExportCommand:
    @pytest.fixture
    def root(self, tmp_path: Path) -> Path:
        (tmp_path / "deploy").mkdir()
        shutil.copy(PROJECT_ROOT / TOPICS_FILE, tmp_path / TOPICS_FILE)
        done = CliRunner().invoke(app, ["export", "--root", str(tmp_path)])
        assert done.exit_code == 0, done.output
        return tmp_path

    def test_export_writes_every_file_and_check_passes(self, root: Path) -> None:
        """Export writes each schema and the AsyncAPI document; --check then passes."""
        assert sorted(p.name for p in (root / JSON_DIR).iterdir()) == sorted(schema_files())
        assert (root / DOCUMENT_PATH).is_file()
        done = CliRunner().invoke(app, ["export", "--check", "--root", str(root)])
        assert done.exit_code == 0, done.output

    def test_check_names_the_first_drifted_file_and_writes_nothing(self, root: Path) -> None:
        """--check fails with one line naming the drifted file and leaves it alone."""
        drifted = root / JSON_DIR / CONTRACTS[1].file_name
        drifted.write_text("{}\n")
        done = CliRunner().invoke(app, ["export", "--check", "--root", str(root)])
        assert done.exit_code == 1
        lines = done.output.strip().splitlines()
        assert len(lines) == 1
        assert f"{JSON_DIR}/{CONTRACTS[1].file_name}" in lines[0]
        assert "hub schemas export" in lines[0]
        assert drifted.read_text() == "{}\n"

    def test_stale_schema_file_fails_check_and_export_removes_it(self, root: Path) -> None:
        """A schema file no model produces is drift; export deletes it."""
        stale = root / JSON_DIR / "retired.schema.json"
        stale.write_text("{}\n")
        done = CliRunner().invoke(app, ["export", "--check", "--root", str(root)])
        assert done.exit_code == 1
        assert "retired.schema.json" in done.output
        CliRunner().invoke(app, ["export", "--root", str(root)])
        assert not stale.exists()


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
class TestJsonSchemas:
    def test_is_a_draft_2020_12_object_schema(self, contract: ContractSchema) -> None:
        """Each file declares draft 2020-12, its id and title, and describes an object."""
        schema = committed_schema(contract)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$schema"] == SCHEMA_DIALECT
        assert schema["$id"].startswith(f"urn:safeguarding-hub:schema:{contract.name}:")
        assert schema["title"] == contract.model.__name__
        assert schema["type"] == "object"
        assert schema["properties"]
        assert set(schema.get("required", [])) <= set(schema["properties"])
        assert schema["additionalProperties"] is False

    def test_every_reference_resolves(self, contract: ContractSchema) -> None:
        """Every $ref points at a definition inside the same file."""
        schema = committed_schema(contract)
        for ref in refs_in(schema):
            assert ref.startswith("#/$defs/"), ref
            resolve(schema, ref)

    def test_every_property_is_described(self, contract: ContractSchema) -> None:
        """Every field has a description, on the field or on the type it refers to."""
        schema = committed_schema(contract)
        objects = [schema, *schema.get("$defs", {}).values()]
        for obj in objects:
            for name, prop in obj.get("properties", {}).items():
                target = resolve(schema, prop["$ref"]) if "$ref" in prop else {}
                assert "description" in prop or "description" in target, (
                    f"{obj['title']}.{name} has no description"
                )


class TestEnvelopeExample:
    def test_factory_envelope_fits_the_exported_schema(self) -> None:
        """A realistic envelope, as JSON, has every required key and no unknown one."""
        schema = committed_schema(CONTRACTS[0])
        original = envelope(subjects=[subject(), subject(label="sibling", school_urn="123456")])
        data = json.loads(original.model_dump_json())
        assert problems(data, schema, schema) == []
        assert Envelope.model_validate(data) == original

    def test_the_check_catches_a_missing_nested_field(self) -> None:
        """The structural check above is not vacuous: a missing consent status is found."""
        schema = committed_schema(CONTRACTS[0])
        data = json.loads(envelope().model_dump_json())
        del data["consent"]["status"]
        data["subjects"][0]["favourite_colour"] = "blue"
        assert sorted(problems(data, schema, schema)) == [
            "$.consent.status: required",
            "$.subjects[0].favourite_colour: not allowed",
        ]


class TestAsyncApiDocument:
    def test_declares_asyncapi_3(self, document: dict[str, Any]) -> None:
        """The document is AsyncAPI 3.x."""
        assert str(document["asyncapi"]).startswith("3.")

    def test_one_channel_per_topic_and_nothing_else(
        self, document: dict[str, Any], topics: list[TopicSpec]
    ) -> None:
        """Each topic of deploy/topics.yaml is a channel whose address is the topic name."""
        assert sorted(document["channels"]) == sorted(t.name for t in topics)
        for name, channel in document["channels"].items():
            assert channel["address"] == name

    def test_a_route_channel_per_area(self, document: dict[str, Any]) -> None:
        """Every service area has its route.<area> channel."""
        assert {f"route.{a.value}" for a in Area} <= set(document["channels"])

    def test_every_reference_resolves(self, document: dict[str, Any]) -> None:
        """Every $ref in the document points at something in it."""
        refs = refs_in(document)
        assert refs
        for ref in refs:
            resolve(document, ref)

    def test_operations_use_their_own_channels_messages(self, document: dict[str, Any]) -> None:
        """Each operation sends or receives messages of the channel it names."""
        for key, op in document["operations"].items():
            assert op["action"] in {"send", "receive"}, key
            channel = op["channel"]["$ref"]
            assert op["messages"], key
            for message in op["messages"]:
                assert message["$ref"].startswith(f"{channel}/messages/"), key

    def test_every_channel_has_a_writer(self, document: dict[str, Any]) -> None:
        """No topic is described that no component writes."""
        written = {
            op["channel"]["$ref"].removeprefix("#/channels/")
            for op in document["operations"].values()
            if op["action"] == "send"
        }
        assert written == set(document["channels"])

    @pytest.mark.parametrize(
        ("topic", "component", "schema"),
        [
            *(
                (f"partner.{p.value}.inbound", "MessageReceived", "MessageReceived")
                for p in Partner
            ),
            *((f"route.{a.value}", "MessageRouted", "MessageRouted") for a in Area),
            ("hub.decisions", "DecisionRecorded", "DecisionRecorded"),
            ("team.outcomes", "OutcomeRecorded", "OutcomeRecorded"),
        ],
    )
    def test_payload_is_the_contract_model(
        self, document: dict[str, Any], topic: str, component: str, schema: str
    ) -> None:
        """The record value on each contract topic is its model's JSON Schema, keyed by subject."""
        message = resolve(document, document["channels"][topic]["messages"][component]["$ref"])
        assert message["payload"] == {"$ref": f"#/components/schemas/{schema}"}
        key = resolve(document, message["bindings"]["kafka"]["key"]["$ref"])
        assert key["pattern"] == "^[0-9a-f]{64}$"

    @pytest.mark.parametrize(
        ("message", "link"),
        [
            ("MessageReceived", Link.INBOUND),
            ("MessageRouted", Link.ROUTED),
            ("OutcomeRecorded", Link.OUTCOME),
        ],
    )
    def test_mac_headers_are_the_ones_writers_send(
        self, document: dict[str, Any], message: str, link: Link
    ) -> None:
        """A MAC's headers are exactly the required ones: a key id and 32 raw bytes."""
        headers_schema = document["components"]["messages"][message]["headers"]
        mac = RecordMac(link, {"k1": SecretKey("k1", b"k" * 32)}, lambda: "k1")
        headers = dict(mac.headers("t", 0, b"key", b'{"x": 1}'))
        assert sorted(headers) == sorted(headers_schema["required"])
        assert set(headers) <= set(headers_schema["properties"])
        assert headers["hub-key-id"] == b"k1"
        assert len(headers["hub-mac"]) == 32

    def test_checkpoints_are_what_the_router_writes(self, document: dict[str, Any]) -> None:
        """A checkpoint fits its payload schema and carries exactly the signature headers."""
        message = document["components"]["messages"]["ChainCheckpointed"]
        signer = Signer(b"ctx", "k1", Ed25519PrivateKey.generate())
        chain = ChainHead().advance("a" * 64).advance("b" * 64)
        value, headers = checkpoint_record(
            chain, 3, Anchor(), at=datetime(2026, 11, 25, tzinfo=UTC), router="r", signer=signer
        )
        payload = resolve(document, message["payload"]["$ref"])
        assert problems(json.loads(value), payload, document) == []
        assert sorted(dict(headers)) == sorted(message["headers"]["required"])

    def test_chain_heads_and_routed_ids_are_what_the_router_writes(
        self, document: dict[str, Any]
    ) -> None:
        """The router's internal records fit their documented payloads."""
        messages = document["components"]["messages"]
        head = json.loads(ChainHead().advance("a" * 64).to_bytes())
        assert problems(head, messages["AuditChainHead"]["payload"], document) == []
        assert head["root"] != GENESIS
        at = datetime(2026, 11, 25, tzinfo=UTC)
        routed = json.loads(routed_id_value(at, "partner.police.inbound", 2, 41))
        assert problems(routed, messages["RoutedId"]["payload"], document) == []

    def test_refusal_notes_carry_the_dlq_headers(self, document: dict[str, Any]) -> None:
        """A team's note of a refused copy has every dead-letter context header."""
        headers_schema = document["components"]["messages"]["DeadLetter"]["headers"]
        error = SchemaViolationError("value: not JSON")
        headers = {k: v.decode() for k, v in refusal_headers(Area.MASH, 2, 41, error)}
        assert set(headers) == set(headers_schema["required"])
        assert problems(headers, headers_schema, document) == []

    def test_dlq_headers_are_the_ones_the_router_writes(self, document: dict[str, Any]) -> None:
        """The router's dead letters carry every documented context header, fitting its schema."""
        headers_schema = document["components"]["messages"]["DeadLetter"]["headers"]
        record = InRecord("partner.police.inbound", 2, 41, b"k", b"not json", (("x-a", b"b"),))
        letter = dead_letter(record, SchemaViolationError("value: not JSON"))
        headers = {name: value.decode() for name, value in letter.headers}
        assert set(headers) - {"x-a"} == set(headers_schema["required"])
        assert problems(headers, headers_schema, document) == []
        assert letter.key == record.key, "kept for `hub dlq replay`"

    def test_subject_history_payload_is_what_the_router_writes(
        self, document: dict[str, Any]
    ) -> None:
        """A subject's state as the router serialises it fits the documented payload."""
        messages = document["components"]["messages"]
        contact = Contact(
            "0b6f3c1e-1c1a-4f3e-9d43-2f4f7f1b2a10",
            datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
            "police.notification.domestic_abuse",
            "police",
            "high",
            ("mash", "da-triage"),
        )
        state = SubjectState(contacts=[contact], last_marac_at=None, open_case_area="mash")
        value = json.loads(state.to_bytes())
        assert problems(value, messages["SubjectState"]["payload"], document) == []
        assert set(value) == set(messages["SubjectState"]["payload"]["properties"])
        assert messages["AuditChainHead"]["bindings"]["kafka"]["key"]["const"] == (
            CHAIN_HEAD_KEY.decode()
        )
