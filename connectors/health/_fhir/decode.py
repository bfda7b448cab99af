"""From the partner's bytes to one validated FHIR R4 resource.

fhir.resources' default models are R5; its ``R4B`` models read R4 (R4B changed no
element the hub reads). JSON goes through ``model_validate_json``; XML through
``model_validate_xml`` after two safety steps, because the library would otherwise
parse with lxml's defaults:

1. defusedxml (expat) refuses any document type declaration, so no entity, internal
   ("billion laughs") or external (XXE), is ever declared, let alone expanded;
2. lxml then parses with entity resolution, DTD loading and network access off, and
   comments and processing instructions dropped.

Before validation, a walk over the document names every unknown resource type, every
element outside the FHIR namespace and every ``contained`` or ``resource`` that holds
something other than one resource, by path: the library would otherwise fail on them
with a bare ``KeyError`` or ``ValueError``. When the library refuses XML, it names
only the first failing element's own field; :mod:`.xmlpaths` then names every problem
by full path. Whatever the library still raises is translated here into
:class:`~connectors.errors.ParseFailed`; nothing else leaves this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import ParseError

import pydantic_core
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from lxml import etree
from pydantic import ValidationError

from connectors.errors import FieldError, ParseFailed
from connectors.health._fhir.issues import FhirFieldError, refuse, validation_issues
from connectors.health._fhir.xmlpaths import xml_issues
from connectors.health.format import CONCERN_TYPES, FHIR_NS, FHIR_VERSIONS, XHTML_NS
from connectors.native import MIB, check_size, duplicate_key_errors, media_type

MAX_BODY_BYTES = 5 * MIB
JSON_TYPES = ("application/fhir+json", "application/json")
XML_TYPES = ("application/fhir+xml", "application/xml")
CONTENT_TYPES = JSON_TYPES + XML_TYPES
ROOT_TYPES = ("Bundle", *CONCERN_TYPES, "CarePlan", "CareTeam", "AuditEvent")
"""Resources the hub accepts at the top of a document."""
_WRAPPERS = frozenset({"contained", "resource"})
"""XML elements that hold exactly one resource element."""

_BOM = b"\xef\xbb\xbf"
_RESOURCE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")
_ABSTRACT = frozenset({"Resource", "DomainResource"})
_SINGLE = (
    "send a Bundle (message, batch, transaction or collection), or a Flag, "
    "ServiceRequest, Communication, CP-IS CarePlan or CareTeam, or an access AuditEvent"
)


def decode(raw: bytes, content_type: str) -> Resource:
    """Read one FHIR R4 resource of an accepted type from JSON or XML bytes."""
    media = _media(content_type)
    check_size(raw, MAX_BODY_BYTES, "the FHIR document")
    if media in JSON_TYPES:
        return _from_json(raw.removeprefix(_BOM))
    return _from_xml(raw)


def _media(content_type: str) -> str:
    try:
        media = media_type(content_type, CONTENT_TYPES)
    except ParseFailed as exc:
        issues = [FhirFieldError(e.field, e.message, "not-supported") for e in exc.errors]
        raise ParseFailed(list(issues)) from exc
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        version = value.strip().strip('"')
        if name.strip().lower() == "fhirversion" and version not in FHIR_VERSIONS:
            refuse("content-type", f"fhirVersion {version[:20]} is not supported; send R4 (4.0)")
    return media


# ---------------------------------------------------------------------------- JSON


def _from_json(raw: bytes) -> Resource:
    try:
        data = pydantic_core.from_json(raw)
    except ValueError as exc:
        refuse("body", f"not valid JSON: {exc}")
    duplicates = duplicate_key_errors(raw)
    if duplicates:
        raise ParseFailed(duplicates)
    if not isinstance(data, dict):
        refuse("body", "a FHIR resource is a JSON object")
    name = data.get("resourceType")
    if not isinstance(name, str) or not name:
        refuse("resourceType", "missing: the document is not a FHIR resource", "required")
    model = _root_model(name)
    errors = list(_json_resource_types(data, name))
    if errors:
        raise ParseFailed(errors)
    return _validated(lambda: model.model_validate_json(raw), name)


def _json_resource_types(value: Any, path: str) -> Iterator[FieldError]:
    """Name every nested resource whose resourceType is not an R4 resource."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "resourceType" and isinstance(item, dict | list):
                yield FhirFieldError(f"{path}.resourceType", "must be a string")
            yield from _json_resource_types(item, f"{path}.{key}")
        inner = value.get("resourceType")
        if isinstance(inner, str) and _resource_model(inner) is None:
            yield FhirFieldError(
                f"{path}.resourceType", f"{inner[:64]!r} is not an R4 resource type"
            )
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_resource_types(item, f"{path}[{index}]")


# ---------------------------------------------------------------------------- XML


def _xml_parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def _from_xml(raw: bytes) -> Resource:
    try:
        defused_fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        refuse("body", f"XML with a DTD or entities is not accepted ({exc})", "not-supported")
    except (ParseError, LookupError, ValueError) as exc:  # LookupError: unknown encoding
        refuse("body", f"not well-formed XML: {str(exc)[:200]}")
    try:
        root = etree.fromstring(raw, parser=_xml_parser())
    except (etree.XMLSyntaxError, LookupError, ValueError) as exc:
        refuse("body", f"not well-formed XML: {str(exc)[:200]}")
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        refuse("body", "XML with a DTD is not accepted", "not-supported")
    qname = etree.QName(root)
    if qname.namespace != FHIR_NS or root.prefix is not None:
        message = f"the root element must be a FHIR resource in the default namespace {FHIR_NS}"
        refuse("body", message)
    name = str(qname.localname)
    model = _root_model(name)
    errors = list(_xml_structure(root, name))
    if errors:
        raise ParseFailed(errors)
    return _validated(
        lambda: model.model_validate_xml(raw, xmlparser=_xml_parser()),
        name,
        locate=lambda: xml_issues(root, model, name),
    )


def _xml_structure(root: Any, path: str) -> Iterator[FieldError]:
    """Name elements outside the FHIR namespace and unknown resource types, by path."""
    stack = [(root, path)]
    while stack:
        element, where = stack.pop()
        children = list(element)
        names = [etree.QName(child).localname for child in children]
        for position, (child, name) in enumerate(zip(children, names, strict=True)):
            namespace = etree.QName(child).namespace
            if namespace == XHTML_NS and name == "div":
                continue  # narrative XHTML, which the library keeps as text
            repeats = names.count(name) > 1
            step = f"{name}[{names[:position].count(name)}]" if repeats else name
            here = f"{where}.{step}"
            if namespace != FHIR_NS or child.prefix is not None:
                yield FhirFieldError(here, f"must be in the default namespace {FHIR_NS}")
                continue
            if etree.QName(element).localname in _WRAPPERS and not name[:1].isupper():
                message = f"holds one resource, and {name[:64]!r} is not a resource"
                yield FhirFieldError(where, message)
                continue
            if name[:1].isupper():
                if _resource_model(name) is None:
                    yield FhirFieldError(where, f"{name[:64]!r} is not an R4 resource type")
                    continue
                here = where  # a resource's name is not a step of the FHIRPath
            stack.append((child, here))


# ---------------------------------------------------------------------------- models


@lru_cache(maxsize=256)
def _resource_model(name: str) -> type[Resource] | None:
    """The R4B model of a concrete resource type, or None for any other name."""
    if not _RESOURCE_NAME.fullmatch(name) or name in _ABSTRACT:
        return None
    try:
        model = get_fhir_model_class(name)
    except (ValueError, KeyError, AttributeError):
        return None
    return model if isinstance(model, type) and issubclass(model, Resource) else None


def _root_model(name: str) -> type[Resource]:
    model = _resource_model(name)
    if model is None:
        refuse("resourceType", f"{name[:64]!r} is not an R4 resource type")
    if name == "Patient":
        message = f"no safeguarding content about the Patient: {_SINGLE}"
        refuse(name, message, "required")
    if name not in ROOT_TYPES:
        refuse(name, f"a single {name} is not a safeguarding message: {_SINGLE}", "not-supported")
    return model


def _validated(
    read: Callable[[], object],
    where: str,
    locate: Callable[[], list[FieldError]] | None = None,
) -> Resource:
    """Run the library's reader, translating everything it raises.

    ``locate`` names every problem by path when the library's own error cannot (XML).
    """
    try:
        resource = read()
    except ValidationError as exc:
        located = locate() if locate is not None else []
        raise ParseFailed(located or validation_issues(exc, where)) from exc
    except Exception as exc:  # the library raises KeyError, ValueError, AssertionError, ...
        located = locate() if locate is not None else []
        raise ParseFailed(located or [FhirFieldError(where, _library_failure(exc))]) from exc
    if not isinstance(resource, Resource):
        refuse(where, "is not a FHIR resource")
    return resource


def _library_failure(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        key = exc.args[0] if exc.args else None
        if key is None:
            return f"every element must be in the default namespace {FHIR_NS}"
        return f"element {str(key)[:64]!r} is not an R4 element where it appears"
    if isinstance(exc, RecursionError):
        return "is nested too deeply"
    return f"cannot be read as FHIR R4: {str(exc)[:300] or type(exc).__name__}"
