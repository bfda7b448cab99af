"""Consent to share, from a FHIR Consent, and the legal grounds to share without it.

=================================================  ===================
FHIR Consent (scope ``patient-privacy``)            consent status
=================================================  ===================
status active, provision.type deny (or OPTOUT)      refused
status active, policyRule IMPLIED or category       implied_direct_care
direct care (BaRS ``DRC``)
status active, provision.type permit (or OPTIN)     given
status rejected                                     refused
status inactive                                     withdrawn
status draft or proposed                            not_sought
no Consent (or entered-in-error)                    not_sought
=================================================  ===================

Implied consent for direct care, as NHS records it for a referral, is not consent to
share with children's services: it is its own status, shared (or not) as without
consent, and never a reason to refuse the message.

The lawful basis is always UK GDPR 6(1)(e) with DPA 2018 Sch 1 para 18: health shares
safeguarding concerns as a public task, consent or not. Without consent the envelope
needs a reason and a statutory gateway, read from the hub's extensions on the Consent,
a concern resource or the MessageHeader. When consent was refused or withdrawn the
sender must say why it shares anyway (an error otherwise). When nobody recorded a
consent position, the information-sharing agreement's defaults apply, each with a
finding, so the hub never presents a default as the clinician's own statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.extension import Extension
from pydantic import ValidationError

from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.message import Located
from connectors.health._fhir.values import instant, label
from connectors.health.format import (
    CONSENT_SCOPE_SYSTEM,
    CONSENT_STATUSES,
    DIRECT_CARE_CATEGORIES,
    DIRECT_CARE_POLICY,
    ISA_NO_CONSENT_REASON,
    ISA_STATUTORY_GATEWAY,
    LAWFUL_BASIS,
    NO_CONSENT_REASON_URL,
    OPT_IN,
    OPT_OUT,
    SHARING_SCOPE,
    SPECIAL_CATEGORY,
    STATUTORY_GATEWAY_URL,
)
from schemas.common import ConsentStatus, NoConsentReason, StatutoryGateway
from schemas.envelope import Consent

_STATUS = {
    "rejected": ConsentStatus.REFUSED,
    "inactive": ConsentStatus.WITHDRAWN,
    "draft": ConsentStatus.NOT_SOUGHT,
    "proposed": ConsentStatus.NOT_SOUGHT,
}
_RANK = {
    ConsentStatus.GIVEN: 0,
    ConsentStatus.NOT_SOUGHT: 1,
    ConsentStatus.IMPLIED_DIRECT_CARE: 1,
    ConsentStatus.WITHDRAWN: 2,
    ConsentStatus.REFUSED: 2,
}
"""How restrictive each position is: with several Consents, the most restrictive wins."""
_T = TypeVar("_T")
_REASONS = {reason.value: reason for reason in NoConsentReason}
_GATEWAYS = {" ".join(gateway.value.lower().split()): gateway for gateway in StatutoryGateway}


@dataclass(frozen=True)
class ConsentContext:
    """What the consent needs from the rest of the message."""

    where: str
    """FHIRPath of the message root, for findings about a missing Consent."""
    holders: tuple[tuple[str, object], ...]
    """Other places (path, element) where the legal-grounds extensions may be sent."""
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class _Position:
    located: Located
    status: ConsentStatus
    recorded_by: str | None
    recorded_at: datetime | None


def read_consent(
    consents: list[Located], context: ConsentContext, ledger: Ledger
) -> Consent | None:
    """The envelope's consent, from the most restrictive Consent about its people."""
    positions = [p for c in consents if (p := _position(c, ledger)) is not None]
    if len(positions) > 1:
        message = "several Consents: the most restrictive position is used"
        ledger.note("consent_several", positions[0].located.path, message)
    chosen = max(positions, key=lambda p: _RANK[p.status], default=None)
    if chosen is None:
        message = "no Consent to share: consent recorded as not sought"
        ledger.warn("consent_not_recorded", context.where, message)
    own: tuple[tuple[str, object], ...] = (
        ((chosen.located.path, chosen.located.resource),) if chosen else ()
    )
    holders = own + context.holders
    status = chosen.status if chosen else ConsentStatus.NOT_SOUGHT
    reason, gateway = _grounds(status, holders, context.where, ledger)
    if status is not ConsentStatus.GIVEN and reason is None:
        return None
    try:
        return Consent(
            status=status,
            recorded_by=(chosen.recorded_by if chosen else None) or context.recorded_by,
            recorded_at=(chosen.recorded_at if chosen else None) or context.recorded_at,
            lawful_basis=LAWFUL_BASIS,
            special_category_condition=SPECIAL_CATEGORY,
            no_consent_reason=reason,
            statutory_gateway=gateway,
        )
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            ledger.invalid(holders[0][0] if holders else context.where, f"consent: {err['msg']}")
        return None


def _position(located: Located, ledger: Ledger) -> _Position | None:
    consent, path = located.resource, located.path
    assert isinstance(consent, FhirConsent)
    if consent.modifierExtension:
        message = "a modifier extension the hub does not understand: it cannot be read safely"
        ledger.not_supported(f"{path}.modifierExtension", message)
    codings = (consent.scope.coding or []) if consent.scope is not None else []
    scopes = [c.code for c in codings if c.system == CONSENT_SCOPE_SYSTEM]
    if scopes and SHARING_SCOPE not in scopes:
        message = f"a {str(scopes[0])[:40]} Consent is not consent to share: ignored"
        ledger.note("consent_not_for_sharing", f"{path}.scope", message)
        return None
    status = _status(consent, path, ledger)
    if status is None:
        return None
    return _Position(
        located=located,
        status=status,
        recorded_by=label(consent.performer[0] if consent.performer else None)
        or label(consent.organization[0] if consent.organization else None),
        recorded_at=instant(consent.dateTime, f"{path}.dateTime", ledger),
    )


def _status(consent: FhirConsent, path: str, ledger: Ledger) -> ConsentStatus | None:
    status = consent.status
    if not status:
        ledger.required(f"{path}.status", "missing")
        return None
    if status not in CONSENT_STATUSES:
        ledger.invalid(f"{path}.status", f"{status[:40]!r} is not a Consent status")
        return None
    if status == "entered-in-error":
        ledger.note("consent_entered_in_error", f"{path}.status", "entered-in-error: ignored")
        return None
    return _STATUS[status] if status != "active" else _active(consent, path, ledger)


def _active(consent: FhirConsent, path: str, ledger: Ledger) -> ConsentStatus | None:
    """An active Consent denies, is for direct care, or permits: by provision, else rule."""
    provision = consent.provision.type if consent.provision else None
    rules = {c.code for c in (consent.policyRule.coding or [])} if consent.policyRule else set()
    categories = {
        (coding.system, coding.code)
        for concept in consent.category or []
        for coding in concept.coding or []
    }
    if provision == "deny" or (provision is None and rules & OPT_OUT):
        return ConsentStatus.REFUSED
    if rules & DIRECT_CARE_POLICY or categories & DIRECT_CARE_CATEGORIES:
        return ConsentStatus.IMPLIED_DIRECT_CARE
    if provision == "permit" or (provision is None and rules & OPT_IN):
        return ConsentStatus.GIVEN
    message = (
        "an active Consent must say permit or deny (or have a policyRule OPTIN, OPTOUT or IMPLIED)"
    )
    ledger.required(f"{path}.provision.type", message)
    return None


def _grounds(
    status: ConsentStatus, holders: tuple[tuple[str, object], ...], where: str, ledger: Ledger
) -> tuple[NoConsentReason | None, StatutoryGateway | None]:
    """The reason and gateway for sharing without consent, as sent or by the ISA default."""
    reason = _coded(holders, NO_CONSENT_REASON_URL, _REASONS, ledger)
    gateway = _coded(holders, STATUTORY_GATEWAY_URL, _GATEWAYS, ledger)
    if status is ConsentStatus.GIVEN:
        return None, gateway
    if reason is None and status in {ConsentStatus.REFUSED, ConsentStatus.WITHDRAWN}:
        message = (
            f"consent was {status.value}: say why the concern is shared without it "
            f"(extension {NO_CONSENT_REASON_URL})"
        )
        ledger.required(f"{holders[0][0] if holders else where}.extension", message)
        return None, gateway
    if reason is None:
        reason = ISA_NO_CONSENT_REASON
        message = f"no reason for sharing without consent: the ISA default {reason.value} is used"
        ledger.warn("no_consent_reason_defaulted", where, message)
    if gateway is None:
        gateway = ISA_STATUTORY_GATEWAY
        message = f"no statutory gateway: the ISA default {gateway.value} is used"
        ledger.note("statutory_gateway_defaulted", where, message)
    return reason, gateway


def _coded(
    holders: tuple[tuple[str, object], ...], url: str, allowed: dict[str, _T], ledger: Ledger
) -> _T | None:
    """The value of the first extension with ``url``, if it is one of ``allowed``."""
    for where, extension in _extensions(holders, url):
        raw = extension.valueCode or extension.valueString
        if raw is None and extension.valueCoding is not None:
            raw = extension.valueCoding.code
        value = allowed.get(" ".join((raw or "").lower().split()))
        if value is None:
            choices = "; ".join(str(choice) for choice in allowed.values())
            ledger.invalid(f"{where}.value[x]", f"{(raw or '')[:60]!r} is not one of: {choices}")
        return value
    return None


def _extensions(
    holders: tuple[tuple[str, object], ...], url: str
) -> Iterator[tuple[str, Extension]]:
    for path, holder in holders:
        for index, extension in enumerate(getattr(holder, "extension", None) or []):
            if isinstance(extension, Extension) and extension.url == url:
                yield f"{path}.extension[{index}]", extension
