"""The structure of a health message: its resources, where they sit, what they refer to.

A message is a Bundle (message, batch, transaction or collection) or one resource of
safeguarding content (a Flag, ServiceRequest, Communication, CP-IS CarePlan or
CareTeam, or an access AuditEvent). The hub resolves only the references it needs (a
concern's subject, a Consent's or RelatedPerson's patient, the sender, a CP-IS flag's
plan); a reference to anything else (an Encounter, a Practitioner) may point outside
the bundle, as it does in real traffic.

The person a concern is about is a Patient in the message, found by reference or by
NHS number, or, for safeguarding content only, an :class:`Absent` person: what a
reference to a Patient elsewhere says (its ``display``, its NHS-number identifier).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.messageheader import MessageHeader
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from connectors.health._fhir.issues import Ledger, refuse
from connectors.health._fhir.values import short
from connectors.health.format import (
    ACCEPTED_BUNDLE_TYPES,
    BUNDLE_TYPES,
    NHS_NUMBER_SYSTEM,
    WRITE_METHODS,
)

_LITERAL = re.compile(r"([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?")
_TAIL = re.compile(r"/([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?$")
_SEARCH = (
    "a Bundle of type searchset is the answer to a search, not a message: send what it "
    "found (a CareTeam, CarePlan, Flag or AuditEvent) on its own, or in a message or "
    "collection Bundle"
)


@dataclass(frozen=True, eq=False)
class Located:
    """A resource and where it sits in the partner's document (a FHIRPath)."""

    path: str
    resource: Resource
    full_url: str | None = None
    contained: Mapping[str, Located] = field(default_factory=dict)

    @property
    def type(self) -> str:
        """The resource type, e.g. ``Patient``."""
        return str(self.resource.get_resource_type())


@dataclass(frozen=True, eq=False)
class Absent:
    """A person named by a reference to a Patient that is not in the message."""

    path: str
    """FHIRPath of the reference."""
    reference: str | None
    display: str | None
    nhs_number: str | None
    """The value of the reference's NHS-number identifier, as sent."""

    @property
    def key(self) -> str:
        """What makes two references name the same person: NHS number, else reference."""
        if self.nhs_number:
            return "nhs:" + "".join(self.nhs_number.split())
        if self.reference:
            return "ref:" + self.reference
        return "name:" + (self.display or "") + "|" + self.path


Person = Located | Absent
"""Whom a concern is about: a Patient in the message, or one a reference names."""


def person_key(person: Person) -> str:
    """The key that groups the concerns about one person."""
    return person.key if isinstance(person, Absent) else f"#{id(person)}"


@dataclass(frozen=True)
class Message:
    """The resources of one partner document, indexed for reference resolution."""

    bundle: Bundle | None
    header: MessageHeader | None
    entries: tuple[Located, ...]
    index: Mapping[str, Located]

    @property
    def bundle_type(self) -> str | None:
        """The Bundle type, or None for a single resource."""
        return self.bundle.type if self.bundle else None

    def of_type(self, *types: str) -> list[Located]:
        """The entries (not contained resources) of the given types, in document order."""
        return [entry for entry in self.entries if entry.type in types]

    def resolve(self, reference: Reference | None, source: Located) -> Located | None:
        """The resource a reference points to within this message, if it is here."""
        text = (reference.reference or "") if reference else ""
        if text.startswith("#"):
            return source.contained.get(text)
        found = self.index.get(text)
        if found is None and (match := _LITERAL.search(text)):
            found = self.index.get(match.group(1))
        return found

    def person(
        self,
        reference: Reference | None,
        source: Located,
        element: str,
        ledger: Ledger,
        *,
        lenient: bool,
    ) -> Person | None:
        """The person a subject reference names.

        A Patient in the message, by reference or by NHS-number identifier; else, when
        ``lenient`` (safeguarding content), the :class:`Absent` person the reference
        describes; else None, with the reason recorded.
        """
        where = f"{source.path}.{element}"
        text = (reference.reference or "").strip() if reference else ""
        number = _nhs_identifier(reference)
        found = self.resolve(reference, source) if text else None
        if found is None and number is not None:
            found = self._patient_numbered(number)
        if found is not None:
            if found.type != "Patient":
                ledger.invalid(where, f"must reference a Patient, not a {found.type}")
                return None
            return found
        display = short(reference.display) if reference else None
        if not lenient or not (text or number or display) or text.startswith("#"):
            return self.link(reference, source, element, ledger)
        named = _LITERAL.search(text)
        kind = named.group(1).split("/")[0] if named else "Patient"
        if kind != "Patient":
            ledger.invalid(where, f"must reference a Patient, not a {kind}")
            return None
        return Absent(where, text or None, display, number)

    def _patient_numbered(self, number: str) -> Located | None:
        wanted = "".join(number.split())
        return next(
            (
                entry
                for entry in self.of_type("Patient")
                for identifier in getattr(entry.resource, "identifier", None) or []
                if identifier.system == NHS_NUMBER_SYSTEM
                and "".join((identifier.value or "").split()) == wanted
            ),
            None,
        )

    def link(
        self,
        reference: Reference | None,
        source: Located,
        element: str,
        ledger: Ledger,
        expected: str = "Patient",
    ) -> Located | None:
        """Resolve a reference the hub needs, recording why when it cannot."""
        where = f"{source.path}.{element}"
        text = (reference.reference or "").strip() if reference else ""
        if not text:
            ledger.required(where, f"must reference the {expected} in the message")
            return None
        target = self.resolve(reference, source)
        if target is None:
            place = "bundle" if self.bundle else "message: a single resource must contain it"
            ledger.invalid(where, f"reference {text[:120]} is not in the {place}")
            return None
        if target.type != expected:
            ledger.invalid(where, f"must reference a {expected}, not a {target.type}")
            return None
        return target


def _nhs_identifier(reference: Reference | None) -> str | None:
    identifier = reference.identifier if reference else None
    if identifier is None or identifier.system != NHS_NUMBER_SYSTEM:
        return None
    return (identifier.value or "").strip() or None


def read_message(root: Resource, ledger: Ledger) -> Message:
    """Index the resources of a document, refusing Bundles that are not messages."""
    if isinstance(root, Bundle):
        return _read_bundle(root, ledger)
    located = _located(root, str(root.get_resource_type()))
    return Message(bundle=None, header=None, entries=(located,), index={})


def _read_bundle(bundle: Bundle, ledger: Ledger) -> Message:
    kind = bundle.type
    if not kind:
        refuse("Bundle.type", "missing: say message, batch, transaction or collection", "required")
    if kind not in BUNDLE_TYPES:
        refuse("Bundle.type", f"{kind[:40]!r} is not a FHIR Bundle type")
    if kind == "searchset":
        refuse("Bundle.type", _SEARCH, "not-supported")
    if kind not in ACCEPTED_BUNDLE_TYPES:
        message = f"a Bundle of type {kind} is not a safeguarding message"
        refuse("Bundle.type", message, "not-supported")
    if not bundle.entry:
        refuse("Bundle.entry", "is empty: no Patient and no concern", "required")
    entries = [
        located
        for index, entry in enumerate(bundle.entry)
        if (located := _entry(index, entry, kind, ledger)) is not None
    ]
    header = _message_header(entries, ledger) if kind == "message" else None
    return Message(
        bundle=bundle, header=header, entries=tuple(entries), index=_index(entries, ledger)
    )


def _entry(index: int, entry: BundleEntry, kind: str, ledger: Ledger) -> Located | None:
    path = f"Bundle.entry[{index}]"
    method = (entry.request.method or "") if entry.request else ""
    if kind in {"batch", "transaction"} and method and method.upper() not in WRITE_METHODS:
        message = f"a {method[:10]} request is not a safeguarding message: send POST or PUT"
        ledger.not_supported(f"{path}.request.method", message)
        return None
    if entry.resource is None:
        ledger.required(f"{path}.resource", "missing: every entry must carry a resource")
        return None
    if isinstance(entry.resource, Bundle):
        ledger.not_supported(f"{path}.resource", "a Bundle inside a Bundle is not accepted")
        return None
    return _located(entry.resource, f"{path}.resource", entry.fullUrl)


def _located(resource: Resource, path: str, full_url: str | None = None) -> Located:
    contained = {
        f"#{inner.id}": Located(path=f"{path}.contained[{index}]", resource=inner)
        for index, inner in enumerate(getattr(resource, "contained", None) or [])
        if inner.id
    }
    return Located(path=path, resource=resource, full_url=full_url, contained=contained)


def _message_header(entries: list[Located], ledger: Ledger) -> MessageHeader | None:
    first = entries[0] if entries else None
    if first is None or first.path != "Bundle.entry[0].resource":
        ledger.invalid("Bundle.entry[0]", "a message Bundle must start with its MessageHeader")
        return None
    if not isinstance(first.resource, MessageHeader):
        message = f"a message Bundle must start with its MessageHeader, not a {first.type}"
        ledger.invalid(first.path, message)
        return None
    if first.resource.response is not None:
        message = "a response to a message is not a safeguarding message"
        ledger.not_supported(f"{first.path}.response", message)
    return first.resource


def _index(entries: list[Located], ledger: Ledger) -> dict[str, Located]:
    index: dict[str, Located] = {}
    urls: set[str] = set()
    for entry in entries:
        if entry.full_url:
            if entry.full_url in urls:
                where = entry.path.removesuffix(".resource") + ".fullUrl"
                ledger.invalid(where, "duplicates the fullUrl of an earlier entry")
            urls.add(entry.full_url)
            index.setdefault(entry.full_url, entry)
            # A relative reference in a Bundle resolves against the base of the absolute
            # fullUrls (FHIR R4 Bundle rules): index their Type/id tails too.
            if tail := _TAIL.search(entry.full_url):
                index.setdefault(tail.group(1), entry)
        if entry.resource.id:
            index.setdefault(f"{entry.type}/{entry.resource.id}", entry)
    return index
