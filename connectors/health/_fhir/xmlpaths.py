"""Where a FHIR XML document breaks the R4 model: every problem, by FHIRPath.

fhir.resources builds XML bottom-up and stops at the first model that fails, naming
only that model's own field (``endpoint``, not ``Bundle.entry[0].resource
.destination[0].endpoint``). When that happens, this module reads the same XML into
the shape of its JSON form, using the models' own field types to tell repeating
elements from single ones, and validates that as JSON is validated: every error, with
its full path. It is only used to *report* a refusal; accepted XML is always read by
the library itself.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from fhir_core.utils import (
    determine_version_prefix,
    get_fhir_type_name,
    is_list_type,
    is_primitive_type,
)
from lxml import etree
from pydantic import ValidationError

from connectors.errors import FieldError
from connectors.health._fhir.issues import FhirFieldError, validation_issues
from connectors.health.format import FHIR_NS

_PREFIX = determine_version_prefix("fhir.resources.R4B")


class _Unreadable(Exception):  # noqa: N818 -- internal signal: give up locating
    pass


def xml_issues(root: Any, model: type[Resource], where: str) -> list[FieldError]:
    """Every R4 problem of an XML resource by FHIRPath; empty when it cannot tell."""
    errors: list[FieldError] = []
    try:
        data = _resource(root, model, where, errors)
        model.model_validate(data)
    except ValidationError as exc:
        errors += validation_issues(exc, where)
    except (_Unreadable, KeyError, ValueError, TypeError, AttributeError, RecursionError):
        return []  # the library's own error stands
    return errors


def _resource(element: Any, model: type[Any], path: str, errors: list[FieldError]) -> Any:
    data: dict[str, Any] = (
        {"resourceType": model.get_resource_type()} if _is_resource(model) else {}
    )
    aliases = model.get_alias_mapping()
    counts: dict[str, int] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        name = str(qname.localname)
        if qname.namespace != FHIR_NS:
            data[name] = etree.tostring(child).decode()  # narrative XHTML
            continue
        field_name = aliases.get(name)
        if field_name is None:
            errors.append(FhirFieldError(f"{path}.{name}", "is not an R4 element here"))
            continue
        field = model.model_fields[field_name]
        repeats = is_list_type(field)
        index = counts.get(name, 0)
        counts[name] = index + 1
        step = f"{path}.{name}[{index}]" if repeats else f"{path}.{name}"
        value = _value(child, field, step, errors)
        if repeats:
            data.setdefault(name, []).append(value)
        elif name in data:
            data[name] = [data[name], value]  # the model reports the cardinality
        else:
            data[name] = value
    if "url" in element.attrib:
        data["url"] = element.attrib["url"]
    return data


def _value(child: Any, field: Any, path: str, errors: list[FieldError]) -> Any:
    if is_primitive_type(field):
        return child.attrib.get("value")
    type_name = get_fhir_type_name(field, prefix=_PREFIX)
    if type_name == "Resource":
        inner = [c for c in child if isinstance(c.tag, str)]
        if len(inner) != 1:
            raise _Unreadable
        name = str(etree.QName(inner[0]).localname)
        return _resource(inner[0], get_fhir_model_class(name), path, errors)
    return _resource(child, get_fhir_model_class(type_name), path, errors)


def _is_resource(model: type[Any]) -> bool:
    return isinstance(model, type) and issubclass(model, Resource)
