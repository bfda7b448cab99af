"""What a sender must add to a returned message, in the sender's own format.

A message is returned only when the service it needs works by consent (early help,
the housing duty to refer) and none was recorded; the safety checker proves that of
every policy (``safety.yaml``, ``child-returned-only-for-consent``). A risk of
significant harm is never returned. ``hub policy explain`` and the team page say both,
naming the fields of the partner's format (``docs/formats/``).
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.policy.engine import Decision
from hub.policy.loader import Policy
from schemas.common import Partner

CONSENT_FIELDS: Mapping[Partner, str] = {
    Partner.POLICE: (
        'the consent: consent_to_share "yes" on the person who agreed (the parent or '
        "carer, the victim, or the young person)"
    ),
    Partner.HEALTH: (
        "the consent: a Consent for the child's Patient with scope patient-privacy, "
        "status active and provision.type permit"
    ),
    Partner.DOMESTIC_ABUSE: 'the consent: consent.status "given"',
    Partner.HOUSING: (
        "the consent: consent_to_refer and consent_to_share_contact_details both true "
        "(Housing Act 1996 s213B)"
    ),
}
"""Where each format records the consent a consent-based service needs."""

HARM_FIELDS: Mapping[Partner, str] = {
    Partner.POLICE: (
        'consent.statutory_gateway "Children Act 1989 s47" or consent.no_consent_reason '
        '"would_prejudice_protection", or the concern\'s code in concerns'
    ),
    Partner.HEALTH: (
        'the statutory-gateway extension "Children Act 1989 s47" or the no-consent-reason '
        'extension "would_prejudice_protection", or the concern\'s code (hub concern system '
        "or SNOMED CT)"
    ),
    Partner.DOMESTIC_ABUSE: (
        'consent.statutory_gateway "Children Act 1989 s47" or consent.no_consent_reason '
        '"would_prejudice_protection", or the concern\'s code in concerns'
    ),
    Partner.HOUSING: "the concern's code in safeguarding_concerns",
}
"""Where each format states significant harm, which needs no consent."""

NEVER_RETURNED = (
    "A risk of significant harm is never returned. If you have reasonable cause to "
    "suspect the child is suffering or likely to suffer significant harm, do not seek "
    "consent (seeking it can endanger a child, for example where there is a risk of "
    "forced marriage, so-called honour-based abuse, FGM or sexual abuse in the family): "
    "resend stating it, with {fields}, and it goes to the MASH without consent."
)


def what_to_add(partner: Partner) -> list[str]:
    """What a sender adds to a message returned for want of consent, and the harm route."""
    return [
        f"Add {CONSENT_FIELDS[partner]}, and resend.",
        NEVER_RETURNED.format(fields=HARM_FIELDS[partner]),
    ]


def returned_guidance(policy: Policy, decision: Decision, partner: Partner) -> list[str]:
    """For a returned message: each returning rule's need, then the significant-harm route."""
    rules = {rule.id: rule for rule in policy.rules}
    lines = []
    for rule_id in decision.returned_by:
        rule = rules[rule_id]
        if rule.consent == "required":
            lines.append(f"{rule.title} ({rule.id}): add {CONSENT_FIELDS[partner]}, and resend.")
        else:
            lines.append(f"{rule.title} ({rule.id}): {rule.returned_reason or rule.rationale}")
    lines.append(NEVER_RETURNED.format(fields=HARM_FIELDS[partner]))
    return lines
