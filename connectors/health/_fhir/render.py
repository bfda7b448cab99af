"""FHIR resources the hub writes (OperationOutcome, CapabilityStatement), as JSON or XML.

The caller's syntax decides: an XML media type gets FHIR XML, anything else JSON.
The XML writer covers what the hub writes (elements, repeats, primitives as ``value``
attributes; no extensions or narrative). Characters that XML 1.0 cannot hold (control
characters, lone surrogates from a partner's bad input quoted in a diagnostic) are
replaced, so a refusal can always be written.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree

from connectors.health.format import FHIR_NS

JSON_MEDIA = "application/fhir+json"
XML_MEDIA = "application/fhir+xml"
_XML_MEDIA_TYPES = frozenset({"application/fhir+xml", "application/xml", "text/xml"})
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def wants_xml(content_type: str) -> bool:
    """The media type (or FHIR ``_format`` value) asks for XML."""
    media = content_type.split(",", maxsplit=1)[0].split(";", maxsplit=1)[0].strip().lower()
    return media in _XML_MEDIA_TYPES or media == "xml"


def rendered(resource: dict[str, Any], content_type: str) -> tuple[str, bytes]:
    """The resource's media type and bytes, in the syntax ``content_type`` names."""
    if wants_xml(content_type):
        return XML_MEDIA, to_xml(resource)
    return JSON_MEDIA, json.dumps(resource).encode()


def to_xml(resource: dict[str, Any]) -> bytes:
    """FHIR XML of a resource given as JSON-ready data, in its keys' order."""
    root = etree.Element(resource["resourceType"], nsmap={None: FHIR_NS})
    _children(root, resource)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _children(parent: Any, node: dict[str, Any]) -> None:
    for name, value in node.items():
        if name == "resourceType":
            continue
        for item in value if isinstance(value, list) else [value]:
            child = etree.SubElement(parent, f"{{{FHIR_NS}}}{name}")
            if isinstance(item, dict):
                _children(child, item)
            else:
                child.set("value", _text(item))


def _text(value: object) -> str:
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return _NOT_XML.sub("\ufffd", text)
