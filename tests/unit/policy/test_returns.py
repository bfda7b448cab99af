"""A returned message says exactly what the sender must add; harm is never returned."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.policy import decide, default_policy_path, load_policy
from hub.policy.returns import CONSENT_FIELDS, HARM_FIELDS, returned_guidance, what_to_add
from schemas.common import (
    ConsentStatus,
    NoConsentReason,
    Partner,
    RiskLevel,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import Envelope, split_envelope
from schemas.history import HistorySummary
from tests.commands import run_hub
from tests.factories import consent, envelope, risk, subject

POLICY = load_policy()


def returned_concern(kind: str = "police.notification.child_concern") -> Envelope:
    return envelope(
        kind=kind,
        subjects=[subject(SubjectRole.CHILD, "child-r"), subject(SubjectRole.PARENT_CARER, "p")],
        risk=risk(RiskLevel.STANDARD),
        consent=consent(
            ConsentStatus.NOT_SOUGHT,
            no_consent_reason=NoConsentReason.CANNOT_REASONABLY_BE_OBTAINED,
            statutory_gateway=StatutoryGateway.CA2004_S11,
        ),
    )


class TestGuidance:
    @pytest.mark.parametrize("partner", list(Partner))
    def test_every_partner_is_told_where_consent_and_harm_go(self, partner: Partner) -> None:
        """Each format's consent field and significant-harm route are named."""
        lines = what_to_add(partner)
        assert CONSENT_FIELDS[partner] in lines[0]
        assert HARM_FIELDS[partner] in lines[1]
        assert "never returned" in lines[1]

    def test_a_returned_child_concern_says_what_to_add(self) -> None:
        """The early-help return names the police consent field and the s47 route."""
        meta, _ = split_envelope(returned_concern())
        decision = decide(POLICY, meta, HistorySummary())
        assert [a.value for a in decision.destinations] == ["returned"]
        assert decision.returned_by == ("r6-early-help",)
        lines = returned_guidance(POLICY, decision, Partner.POLICE)
        assert "consent_to_share" in lines[0]
        assert "Children Act 1989 s47" in lines[-1]
        assert "never returned" in lines[-1]

    def test_no_returned_reason_advises_seeking_consent_where_it_endangers(self) -> None:
        """Every reason a rule returns with warns against consent where it endangers a child."""
        for rule in POLICY.rules:
            if rule.returned_reason is None:
                continue
            assert "never returned" in rule.returned_reason
            if "early help" in rule.returned_reason.lower():
                assert "do not seek consent" in rule.returned_reason


class TestExplain:
    def test_explain_names_what_the_sender_must_add(self, tmp_path: Path) -> None:
        """`hub policy explain` on a returned message lists what to add, in police terms."""
        path = tmp_path / "message.json"
        path.write_text(returned_concern().model_dump_json())
        policy = str(default_policy_path())
        done = run_hub("policy", "explain", str(path), "--policy", policy)
        assert done.returncode == 0, done.stderr
        out = " ".join(done.stdout.split())
        assert "destinations: returned" in out
        assert "what the sender (police) must add before resending" in out
        assert 'consent_to_share "yes"' in out
        assert "A risk of significant harm is never returned" in out
