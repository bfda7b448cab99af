"""Builders of synthetic test data: no real person, NHS numbers from the unissued 999 range."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.grades import LEVEL_RAG
from hub.bootstrap import Hub
from hub.security.keys import init_keyring
from hub.settings import CryptoSettings, HubSettings
from schemas.common import (
    KIND_PARTNER,
    Area,
    ConsentStatus,
    LawfulBasis,
    NhsNumberStatus,
    NoConsentReason,
    RiskLevel,
    RiskTool,
    SpecialCategoryCondition,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import Consent, Envelope, Quality, Risk, Source, Subject
from schemas.outcome import Outcome, OutcomeRecorded

NOW = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


class Clock:
    """A monotonic clock (seconds) that stands still until the test sets ``now``."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def hub_with_keys(root: Path) -> Hub:
    """A hub with a complete keyring under ``root`` (MACs and encryption on)."""
    init_keyring(root)
    return Hub(HubSettings(crypto=CryptoSettings(keys_dir=root)))


def key(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def subject(role: SubjectRole = SubjectRole.CHILD, label: str = "child-1", **kw: Any) -> Subject:
    defaults: dict[str, Any] = {
        "role": role,
        "subject_key": key(label),
        "age_years": 8 if role is SubjectRole.CHILD else 34,
        "given_name": "Testchild" if role is SubjectRole.CHILD else "Testadult",
        "family_name": "Synthetic",
        "date_of_birth": date(2018, 3, 1) if role is SubjectRole.CHILD else date(1992, 6, 5),
        "nhs_number": "9990000018",
        "nhs_number_status": NhsNumberStatus.VALID,
        "postcode": "ZZ99 3AA",
    }
    defaults.update(kw)
    return Subject(**defaults)


def consent(status: ConsentStatus = ConsentStatus.GIVEN, **kw: Any) -> Consent:
    defaults: dict[str, Any] = {
        "status": status,
        "recorded_by": "PC 0001",
        "recorded_at": NOW,
        "lawful_basis": LawfulBasis.PUBLIC_TASK,
        "special_category_condition": SpecialCategoryCondition.SAFEGUARDING,
    }
    if status is not ConsentStatus.GIVEN:
        defaults["no_consent_reason"] = NoConsentReason.WOULD_PREJUDICE_PROTECTION
        defaults["statutory_gateway"] = StatutoryGateway.CA1989_S47
    defaults.update(kw)
    return Consent(**defaults)


def risk(level: RiskLevel = RiskLevel.STANDARD, **kw: Any) -> Risk:
    defaults: dict[str, Any] = {
        "tool": RiskTool.NONE,
        "partner_grade": level.value.title(),
        "level": level,
        "rag": LEVEL_RAG[level],
    }
    defaults.update(kw)
    return Risk(**defaults)


def envelope(
    kind: str = "police.notification.child_concern",
    subjects: list[Subject] | None = None,
    **kw: Any,
) -> Envelope:
    subjects = subjects if subjects is not None else [subject()]
    partner = KIND_PARTNER[kind.split(".", 1)[0]]
    defaults: dict[str, Any] = {
        "message_id": uuid.uuid4(),
        "partner": partner,
        "source": Source(
            org_code="47",
            system="test",
            partner_reference=f"REF-{uuid.uuid4().hex[:8]}",
            submitted_by="PC 0001",
        ),
        "kind": kind,
        "occurred_at": NOW - timedelta(hours=2),
        "reported_at": NOW - timedelta(hours=1),
        "received_at": NOW,
        "subject_key": next(
            (s.subject_key for s in subjects if s.is_child), subjects[0].subject_key
        ),
        "subjects": tuple(subjects),
        "risk": risk(),
        "consent": consent(),
        "narrative": "Synthetic narrative for tests.",
        "quality": Quality(score=100),
    }
    defaults.update(kw)
    return Envelope(**defaults)


def outcome_recorded(
    message_id: uuid.UUID,
    subject_key: str,
    outcome: Outcome,
    rationale: str,
    *,
    area: Area = Area.MASH,
    decided_by: str = "sw-0001",
    decided_at: datetime = NOW,
    **fields: Any,
) -> OutcomeRecorded:
    """A team's outcome on ``message_id``, with a fresh outcome id (``fields``: the rest)."""
    return OutcomeRecorded(
        outcome_id=uuid.uuid4(),
        message_id=message_id,
        area=area,
        subject_key=subject_key,
        outcome=outcome,
        rationale=rationale,
        decided_by=decided_by,
        decided_at=decided_at,
        **fields,
    )
