"""Each area's copy carries only what that area needs (DESIGN.md section 14).

Attacks, read as an information-governance reviewer or a school's staff would: the
Operation Encompass copy of a rich police notification shows the adults' health,
other children, roles, concerns, risk, history and other areas' reasons; the name of
the officer who recorded consent is readable by anything that reads the inbound or
route topics. Every field of every copy is decrypted and inspected.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from connectors.protocol import ParseContext
from connectors.registry import all_connectors
from hub.bootstrap import Hub
from hub.bootstrap.teams import area_keys
from hub.router.handler import OutRecord
from hub.router.history import HistoryStore
from hub.teams.content import open_routed
from schemas.common import Area, Partner
from schemas.envelope import Envelope
from schemas.routed import EncompassNotice, EncompassRecipient, MessageRouted
from tests.records import inbound_record
from tests.unit.teams.teamkit import make_deps, queue, routed_copies, running_app

RECORDER = "PC Recorderofficer 9921"
JUDGEMENT = "Officer judged risk high: threats to kill while drunk."
NARRATIVE = "Mother disclosed depression and that the older brother was beaten."
SCHOOL_CHILD = {
    "role": "child",
    "given_name": "Mia",
    "family_name": "Sample",
    "date_of_birth": "2018-03-01",
    "nhs_number": "999 000 0026",
    "postcode": "ZZ1 1AA",
    "address": "1 Example Street, Testtown",
    "school_urn": "999001",
    "present": True,
    "witnessed": True,
    "injured": True,
    "resides_at_address": True,
    "location_during_incident": "on the stairs",
    "child_voice": "Mia said she was scared and hid on the stairs.",
}
HOME_EDUCATED = {
    "role": "child",
    "given_name": "Sol",
    "family_name": "Sample",
    "date_of_birth": "2015-09-09",
    "present": False,
    "elective_home_education": True,
    "child_voice": "Sol said he stayed in his room with headphones on.",
}
RICH = {
    "force_code": "47",
    "reference": "47/2026/990001",
    "notification_type": "domestic_abuse",
    "occurred_at": "2026-11-24T23:40:00+00:00",
    "reported_at": "2026-11-25T02:15:00+00:00",
    "risk_grade": "High",
    "risk_tool": "DASH",
    "risk_score": 17,
    "professional_judgement_high": True,
    "judgement_rationale": JUDGEMENT,
    "incident_location": "1 Example Street, Testtown",
    "persons": [
        SCHOOL_CHILD,
        HOME_EDUCATED,
        {
            "role": "child",
            "given_name": "Otherbaby",
            "family_name": "Sample",
            "date_of_birth": "2025-01-10",
            "present": True,
        },
        {
            "role": "victim",
            "given_name": "Alexa",
            "family_name": "Sample",
            "date_of_birth": "1992-06-05",
            "nhs_number": "9990000018",
            "injured": True,
            "pregnant": True,
            "consent_to_share": "yes",
        },
        {
            "role": "person_causing_harm",
            "given_name": "Jordan",
            "family_name": "Testperson",
            "date_of_birth": "1990-01-15",
            "works_with_children": True,
            "consent_to_share": "no",
        },
    ],
    "summary": NARRATIVE,
    "submitted_by": "PC 4711",
    "system": "Niche RMS",
    "concerns": ["mental_health", "substance_misuse", "child_protection"],
    "consent": {"recorded_by": RECORDER},
}
FORBIDDEN_TEXT = (
    # other people, and the adults' health
    "Alexa",
    "Jordan",
    "Testperson",
    "Otherbaby",
    "9990000018",
    "pregnan",
    # roles, concerns, risk and consent
    "victim",
    "person_causing_harm",
    "works_with_children",
    "mental_health",
    "substance_misuse",
    "child_protection",
    "DASH",
    '"High"',
    "risk",
    JUDGEMENT,
    "judgement",
    RECORDER,
    "consent",
    "lawful_basis",
    # the narrative, history and other areas
    NARRATIVE,
    "history",
    "mash",
    "marac",
    "da-triage",
    "lado",
    "destinations",
    # a notified child's other details
    "999 000 0026",
    "9990000026",
    "ZZ1 1AA",
    "witnessed",
    "injured",
)
METADATA_FIELDS = {
    "message_id",
    "partner",
    "org_code",
    "partner_reference",
    "kind",
    "occurred_at",
    "reported_at",
    "received_at",
    "subject_key",
    "child_index",
    "recipient",
}
NOTICE_FIELDS = set(EncompassNotice.model_fields)
"""The allow-list: the child's name and date of birth, the school (or the local
authority), the police reference, location, date and time, present and where, voice."""


def rich_envelope(**changes: Any) -> Envelope:
    """The rich notification (with ``changes``) as the police connector makes it."""
    police = next(c for c in all_connectors() if c.partner is Partner.POLICE)
    context = ParseContext(
        received_at=datetime(2026, 11, 25, 3, tzinfo=UTC), subject_key_secret=b"s"
    )
    raw = json.dumps({**RICH, **changes}).encode()
    [env] = police.parse(raw, "application/json", context)
    return env


def encompass_copies(hub: Hub, env: Envelope) -> list[OutRecord]:
    """The Encompass copies of ``env``, routed after an earlier incident (a history to leak)."""
    history = HistoryStore()
    earlier = env.model_copy(update={"message_id": uuid.uuid5(env.message_id, "earlier")})
    routed_copies(hub, earlier, history=history)
    copies = routed_copies(hub, env, history=history)
    assert {"route.mash", "route.marac"} <= set(copies)  # other areas got it, with reasons
    return copies["route.encompass"]


class TestEncompassCopy:
    def test_carries_only_the_statutory_list(self, hub: Hub) -> None:
        env = rich_envelope()
        copies = encompass_copies(hub, env)
        assert len(copies) == 2  # Mia (school) and Sol (home educated); not the baby
        keks = area_keys(hub, (Area.ENCOMPASS,))[Area.ENCOMPASS]
        notices = []
        for copy in copies:
            raw = json.loads(copy.value)
            assert set(raw) == set(MessageRouted.model_fields)
            assert set(raw["metadata"]) == METADATA_FIELDS
            assert set(raw["decision"]) == {"rules", "rationale", "policy_version", "decided_at"}
            assert raw["decision"]["rules"] == ["r2-encompass"]
            assert all(t.startswith("Operation Encompass") for t in raw["decision"]["rationale"])
            assert raw["payload"] is None
            routed = MessageRouted.model_validate_json(copy.value)
            notice = open_routed(routed, keks).notice
            assert notice is not None
            plain = notice.model_dump_json()
            assert set(json.loads(plain)) == NOTICE_FIELDS
            clear = json.dumps({k: v for k, v in raw.items() if k != "sealed"})
            for text in FORBIDDEN_TEXT:
                assert text.lower() not in clear.lower(), f"clear part holds {text!r}"
                assert text.lower() not in plain.lower(), f"sealed notice holds {text!r}"
                assert text.encode() not in copy.value, f"record bytes hold {text!r}"
            for _name, header in copy.headers:
                assert RECORDER.encode() not in header
            notices.append(notice)
        school, home = sorted(notices, key=lambda n: n.recipient.value, reverse=True)
        assert school.recipient is EncompassRecipient.SCHOOL
        assert (school.child_given_name, school.school_urn) == ("Mia", "999001")
        assert school.child_date_of_birth is not None
        assert school.police_reference == "47/2026/990001"
        assert school.incident_location == "1 Example Street, Testtown"
        assert (school.present, school.location_during_incident) == (True, "on the stairs")
        assert school.child_voice == SCHOOL_CHILD["child_voice"]
        assert "Sol" not in school.model_dump_json()
        assert home.recipient is EncompassRecipient.LA_CHILDRENS_SERVICES
        assert (home.child_given_name, home.school_urn) == ("Sol", None)
        assert home.child_voice == HOME_EDUCATED["child_voice"]
        assert "Mia" not in home.model_dump_json()

    def test_a_home_educated_child_alone_is_notified_to_the_local_authority(self, hub: Hub) -> None:
        """No school anywhere in the message: the notice still goes, to children's services."""
        persons = [HOME_EDUCATED, *cast("list[dict[str, Any]]", RICH["persons"])[3:]]
        env = rich_envelope(persons=persons)
        (copy,) = routed_copies(hub, env)["route.encompass"]
        routed = MessageRouted.model_validate_json(copy.value)
        keks = area_keys(hub, (Area.ENCOMPASS,))[Area.ENCOMPASS]
        notice = open_routed(routed, keks).notice
        assert notice is not None
        assert notice.recipient is EncompassRecipient.LA_CHILDRENS_SERVICES
        assert (notice.child_given_name, notice.school_urn) == ("Sol", None)

    async def test_the_school_view_renders_the_notice(self, hub: Hub, tmp_path: Path) -> None:
        env = rich_envelope()
        deps = make_deps(hub, tmp_path / "teams", (Area.ENCOMPASS,))
        async with running_app(deps) as team:
            assert queue(team.deps.store, hub, env, Area.ENCOMPASS) == 2
            await team.sign_in_as("dsl", Area.ENCOMPASS)
            listing = await team.client.get("/areas/encompass/queue")
            assert listing.status_code == 200, listing.text[:300]
            page = await team.client.get(f"/areas/encompass/messages/{env.message_id}?child=0")
            assert page.status_code == 200, page.text[:300]
            for shown in ("Operation Encompass notice", "Mia", "999001", "47/2026/990001"):
                assert shown in page.text
            for shown in ("1 Example Street, Testtown", "on the stairs", "hid on the stairs"):
                assert shown in page.text
            for hidden in ("Alexa", "Jordan", "Otherbaby", "Sol", "mental", JUDGEMENT, "DASH"):
                assert hidden not in page.text
            home = await team.client.get(f"/areas/encompass/messages/{env.message_id}?child=1")
            assert home.status_code == 200, home.text[:300]
            assert "children&#39;s services" in home.text or "children's services" in home.text
            assert "Sol" in home.text
            assert "Mia" not in home.text


class TestRecorderNames:
    def test_the_recorder_is_sealed_everywhere(self, hub: Hub) -> None:
        """The officer who recorded consent is in no clear metadata, header or record."""
        env = rich_envelope()
        assert env.consent.recorded_by == RECORDER
        inbound = inbound_record(hub, env)
        assert inbound.value is not None
        assert RECORDER.encode() not in inbound.value
        assert "recorded_by" not in json.loads(inbound.value)["metadata"]["consent"]
        for _name, header in inbound.headers:
            assert RECORDER.encode() not in header
        copies = routed_copies(hub, env)
        for topic, records in copies.items():
            for record in records:
                assert RECORDER.encode() not in record.value, topic
                for _name, header in record.headers:
                    assert RECORDER.encode() not in header
        # The areas that get the whole message still read it, sealed for them.
        mash = MessageRouted.model_validate_json(copies["route.mash"][0].value)
        opened = open_routed(mash, area_keys(hub, (Area.MASH,))[Area.MASH])
        assert opened.envelope is not None
        assert opened.envelope.consent.recorded_by == RECORDER
