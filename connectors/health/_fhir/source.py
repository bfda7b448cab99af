"""Who sent a health message, and under which reference.

=================  ===============================================================
envelope           FHIR, first found
=================  ===============================================================
partner_reference  Bundle.identifier.value; MessageHeader.id; the root resource's id
org_code           ODS code of MessageHeader.sender, else of a concern's author
                   (Flag.author, ServiceRequest.requester, Communication.sender,
                   CarePlan.author, an access's setting): its identifier (system
                   ods-organization-code, ``Id`` or ``id``), a Spine directory URL,
                   or the Organization it references in the bundle; else UNKNOWN
system             MessageHeader.source.software (and version), name or endpoint
submitted_by       MessageHeader.author or enterer, else a concern's author, else the
                   name of the Organization MessageHeader.sender references
=================  ===============================================================

The reference and the org code make the message ids (``message_id_for``), so a
resend of the same Bundle gets the same ids and is recognised as a duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fhir.resources.R4B.messageheader import MessageHeader
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError

from connectors.health._fhir.concern import ConcernFacts
from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.message import Located, Message
from connectors.health._fhir.values import label, short
from connectors.health.format import ODS_DIRECTORY, ODS_SYSTEMS
from schemas.envelope import Source

DEFAULT_ORG_CODE = "UNKNOWN"
"""The org code of a message that names no ODS code for its sender."""

_ODS_CODE = re.compile(r"[A-Za-z0-9]{3,10}")
_REFERENCE_MAX = 200


def read_source(message: Message, concerns: list[ConcernFacts], ledger: Ledger) -> Source | None:
    """The envelope's source; None (with errors recorded) when it has no reference."""
    root = root_path(message)
    reference = _reference(message, root, ledger)
    authors = [(c.author, c.located) for c in concerns]
    header = _header_located(message)
    senders = [(header[0].sender, header[1])] if header else []
    org_code = _org_code(message, [*senders, *authors])
    if org_code is None:
        org_code = DEFAULT_ORG_CODE
        reason = f"no ODS code for the sending organisation: {DEFAULT_ORG_CODE} is used"
        ledger.warn("org_code_missing", root, reason)
    submitted_by = _submitted_by(message.header, [author for author, _ in authors])
    submitted_by = submitted_by or (_sender_name(message, header) if header else None)
    if submitted_by is None:
        submitted_by = "not stated"
        ledger.note("submitted_by_missing", root, "no author or sender is named")
    if reference is None:
        return None
    try:
        return Source(
            org_code=org_code,
            system=_system(message.header),
            partner_reference=reference,
            submitted_by=submitted_by,
        )
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            ledger.invalid(root, f"source: {err['msg']}")
        return None


def root_path(message: Message) -> str:
    """The FHIRPath of the document's root resource."""
    return "Bundle" if message.bundle else message.entries[0].path


def _reference(message: Message, root: str, ledger: Ledger) -> str | None:
    bundle = message.bundle
    if bundle is None:
        reference = (message.entries[0].resource.id or "").strip()
    else:
        identifier = bundle.identifier.value if bundle.identifier else None
        header_id = message.header.id if message.header else None
        reference = (identifier or header_id or bundle.id or "").strip()
    if not reference:
        where = f"{root}.identifier" if bundle else f"{root}.id"
        ledger.required(where, "the partner's reference is required, so a resend is recognised")
        return None
    if len(reference) > _REFERENCE_MAX:
        ledger.invalid(f"{root}.identifier", f"longer than {_REFERENCE_MAX} characters")
        return None
    return reference


def _header_located(message: Message) -> tuple[MessageHeader, Located] | None:
    if message.header is None:
        return None
    return message.header, message.entries[0]


def _org_code(
    message: Message, references: Iterable[tuple[Reference | None, Located]]
) -> str | None:
    for reference, holder in references:
        code = _ods_code(message, reference, holder)
        if code is not None:
            return code.upper()
    return None


def _ods_code(message: Message, reference: Reference | None, holder: Located) -> str | None:
    if reference is None:
        return None
    identifier = reference.identifier
    if identifier and identifier.system in ODS_SYSTEMS and identifier.value:
        return _checked(identifier.value)
    text = reference.reference or ""
    if text.startswith(ODS_DIRECTORY):
        return _checked(text.removeprefix(ODS_DIRECTORY))
    target = message.resolve(reference, holder)
    if target is None or not isinstance(target.resource, Organization):
        return None
    codes = [
        i.value for i in target.resource.identifier or [] if i.system in ODS_SYSTEMS and i.value
    ]
    return _checked(codes[0]) if codes else None


def _checked(code: str) -> str | None:
    code = code.strip()
    return code if _ODS_CODE.fullmatch(code) else None


def _sender_name(message: Message, header: tuple[MessageHeader, Located]) -> str | None:
    """The name of the Organization MessageHeader.sender references (a BaRS sender)."""
    target = message.resolve(header[0].sender, header[1])
    body = target.resource if target is not None else None
    return short(body.name) if isinstance(body, Organization) else None


def _system(header: MessageHeader | None) -> str:
    source = header.source if header else None
    if source is None:
        return "FHIR"
    software = " ".join(part for part in (source.software, source.version) if part)
    return short(software) or short(source.name) or short(str(source.endpoint or "")) or "FHIR"


def _submitted_by(header: MessageHeader | None, authors: list[Reference | None]) -> str | None:
    candidates = [header.author, header.enterer] if header else []
    return next((name for ref in [*candidates, *authors] if (name := label(ref))), None)
