"""The demo day's synthetic traffic: parsed by the real connectors, a county's mix, nobody real."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.errors import ParseFailed
from connectors.protocol import ParseContext
from connectors.registry import connector_for
from hub.demo import PartnerRequest, generate_day, summarise
from hub.demo.bulk import police_csv_batch
from hub.demo.orgs import PARTNER_ORGS
from hub.demo.people import FAMILY, GIVEN_ADULT, GIVEN_CHILD
from hub.demo.quality import DEFECTS
from hub.demo.traffic import PER_COUNTY_DAY, plan
from hub.demo.volume import (
    CONTACTS_PER_DAY,
    CONTACTS_PER_REFERRAL,
    COUNTY_CODE,
    COUNTY_REFERRALS,
    COUNTY_YEAR,
    DFE_FILE,
    PARTNER_SHARES,
    RATIO_CODE,
    RATIO_REFERRALS,
    RATIO_YEAR,
    REFERRALS_PER_DAY,
    count_cell,
    latest_referrals,
    read_referrals,
)
from hub.policy import decide, load_policy
from hub.policy.facts import compute_facts
from hub.policy.properties import default_properties_path, load_properties, violations
from hub.settings import PROJECT_ROOT
from schemas.common import Concern, Partner, SubjectRole, nhs_check_digit, nhs_number_is_valid
from schemas.envelope import Envelope, split_envelope
from schemas.history import HistorySummary

DAY = date(2026, 6, 10)
LONDON = ZoneInfo("Europe/London")
DFE_CSV = PROJECT_ROOT / "tests" / "data" / "shared" / "dfe-childrens-social-care" / DFE_FILE
INVALID_FIELDS = {
    "police notification shared without consent, with no reason or gateway": (
        "consent.no_consent_reason"
    ),
    "police notification with an unknown risk grade": "risk_grade",
    "health Consent rejected with no reason for sharing": "Bundle.entry[4].resource.extension",
    "housing referral without consent to share contact details": (
        "consent_to_share_contact_details"
    ),
    "DASH refused without a statutory gateway": "consent.statutory_gateway",
}


@dataclass(frozen=True)
class Parsed:
    request: PartnerRequest
    envelopes: tuple[Envelope, ...]
    error: ParseFailed | None


def parse_all(requests: list[PartnerRequest]) -> list[Parsed]:
    parsed = []
    for request in requests:
        context = ParseContext(received_at=request.sent_at, subject_key_secret=b"x" * 32)
        try:
            envelopes = connector_for(request.partner).parse(
                request.body, request.content_type, context
            )
        except ParseFailed as exc:
            parsed.append(Parsed(request, (), exc))
        else:
            parsed.append(Parsed(request, tuple(envelopes), None))
    return parsed


def unique(parsed: list[Parsed]) -> list[Envelope]:
    """Accepted envelopes, each message once (a resend repeats its original's ids)."""
    seen: dict[object, Envelope] = {}
    for item in parsed:
        for envelope in item.envelopes:
            seen.setdefault(envelope.message_id, envelope)
    return list(seen.values())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), LONDON).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(), LONDON).astimezone(UTC)


@pytest.fixture(scope="module")
def requests() -> list[PartnerRequest]:
    return generate_day(DAY)


@pytest.fixture(scope="module")
def parsed(requests: list[PartnerRequest]) -> list[Parsed]:
    return parse_all(requests)


@pytest.fixture(scope="module")
def envelopes(parsed: list[Parsed]) -> list[Envelope]:
    return unique(parsed)


def police_incidents(envelopes: list[Envelope]) -> list[Envelope]:
    return [e for e in envelopes if e.partner is Partner.POLICE]


class TestRequestsParse:
    """Every request parses with the real connector, except the ones made invalid."""

    def test_every_valid_request_parses(self, parsed: list[Parsed]) -> None:
        failed = [
            (p.request.label, p.error.errors[:3])
            for p in parsed
            if p.request.kind != "invalid" and p.error is not None
        ]
        assert failed == []
        assert all(p.envelopes for p in parsed if p.request.kind != "invalid")

    def test_every_message_is_sent_as_an_organisation_its_credential_is_bound_to(
        self, parsed: list[Parsed]
    ) -> None:
        """The demo's credentials (hub.demo.orgs) cover every org code it sends as: no 403."""
        foreign = {
            (p.request.partner.value, e.source.org_code)
            for p in parsed
            for e in p.envelopes
            if e.source.org_code.upper() not in PARTNER_ORGS[p.request.partner]
        }
        assert foreign == set()

    def test_every_invalid_request_is_refused_for_its_defect(self, parsed: list[Parsed]) -> None:
        invalid = [p for p in parsed if p.request.kind == "invalid"]
        assert len(invalid) == PER_COUNTY_DAY["invalid"] == len(DEFECTS)
        for item in invalid:
            assert item.error is not None, item.request.label
            description = item.request.label.removeprefix("invalid (422): ")
            assert INVALID_FIELDS[description] in {e.field for e in item.error.errors}
            assert item.request.expect is None
        labels = {p.request.label for p in invalid}
        assert len(labels) == len(DEFECTS)

    def test_path_and_content_type_are_the_connectors(self, requests: list[PartnerRequest]) -> None:
        for request in requests:
            connector = connector_for(request.partner)
            assert request.path == connector.http_path
            media = request.content_type.split(";")[0]
            assert media in connector.content_types

    def test_requests_are_sent_in_order_within_the_london_day(
        self, requests: list[PartnerRequest]
    ) -> None:
        start, end = day_bounds(DAY)
        times = [r.sent_at for r in requests]
        assert times == sorted(times)
        assert all(start <= t < end for t in times)
        assert all(t.utcoffset() == timedelta(0) for t in times)

    def test_expected_areas_follow_the_default_policy(self, parsed: list[Parsed]) -> None:
        policy = load_policy()
        checked = 0
        for item in parsed:
            if item.request.expect is None:
                continue
            for envelope in item.envelopes:
                meta, _ = split_envelope(envelope)
                areas = {a.value for a in decide(policy, meta, HistorySummary()).destinations}
                assert item.request.expect in areas, (item.request.label, areas)
                checked += 1
        assert checked > len(parsed) // 2

    def test_no_child_at_risk_is_returned_or_only_recorded(self, parsed: list[Parsed]) -> None:
        """Every demo message keeps the safety properties; many are significant harm."""
        policy = load_policy()
        properties = load_properties([default_properties_path()])
        harm = next(p for p in properties if p.id == "significant-harm-reaches-mash")
        at_risk = 0
        for item in parsed:
            for envelope in item.envelopes:
                meta, _ = split_envelope(envelope)
                facts = compute_facts(meta, HistorySummary())
                decision = decide(policy, meta, HistorySummary())
                assert not violations(properties, policy, facts, decision), item.request.label
                at_risk += harm.given(facts)
        assert at_risk > 20


class TestMix:
    """A county-sized day: volumes, partners and kinds in realistic proportions."""

    def test_the_day_has_the_county_volume(
        self, requests: list[PartnerRequest], envelopes: list[Envelope]
    ) -> None:
        assert sum(plan(1.0).values()) == CONTACTS_PER_DAY
        invalid = sum(r.kind == "invalid" for r in requests)
        assert len(envelopes) + invalid == CONTACTS_PER_DAY
        assert 300 <= len(requests) <= 400

    def test_each_partner_has_its_share(self, envelopes: list[Envelope]) -> None:
        shares = Counter(e.partner for e in envelopes)
        for partner, share in PARTNER_SHARES.items():
            assert shares[Partner(partner)] / len(envelopes) == pytest.approx(share, abs=0.02)
        assert shares.most_common(1)[0][0] is Partner.POLICE

    def test_most_police_notifications_involve_no_child_or_are_low_risk(
        self, envelopes: list[Envelope]
    ) -> None:
        police = police_incidents(envelopes)
        no_child = [e for e in police if not e.children]
        assert 0.45 <= len(no_child) / len(police) <= 0.65
        low = [e for e in police if not e.children or e.risk.level.value == "standard"]
        assert len(low) / len(police) >= 0.7

    def test_about_half_of_da_incidents_have_a_child_present(
        self, envelopes: list[Envelope]
    ) -> None:
        da = [e for e in envelopes if e.kind == "police.notification.domestic_abuse"]
        present = [e for e in da if any(c.present for c in e.children)]
        assert len(da) >= 40
        assert 0.4 <= len(present) / len(da) <= 0.6

    def test_health_is_fhir_mostly_json_some_xml(self, requests: list[PartnerRequest]) -> None:
        health = [r for r in requests if r.partner is Partner.HEALTH]
        xml = [r for r in health if r.content_type.startswith("application/fhir+xml")]
        assert all(r.content_type.startswith("application/fhir+") for r in health)
        assert 0.1 <= len(xml) / len(health) <= 0.4
        assert all(r.body.startswith(b"<?xml") for r in xml)

    def test_rare_kinds_are_all_there(self, envelopes: list[Envelope]) -> None:
        kinds = Counter(e.kind for e in envelopes)
        assert kinds["police.notification.missing_person"] >= 3
        assert kinds["police.notification.adult_at_risk"] >= 3
        lado = [e for e in envelopes if Concern.ALLEGATION_AGAINST_PROFESSIONAL in e.concerns]
        assert any(s.role is SubjectRole.PROFESSIONAL_SUBJECT for e in lado for s in e.subjects)
        young = [
            e
            for e in envelopes
            if e.kind == "housing.duty_to_refer" and e.subjects[0].age_years in {16, 17}
        ]
        assert young
        dash = [e for e in envelopes if e.kind == "domestic_abuse.dash_assessment"]
        assert any((e.risk.score or 0) >= 14 for e in dash)
        assert any((e.risk.score or 0) < 14 for e in dash)
        assert any(Concern.HARM_FLAG in e.concerns for e in envelopes)

    def test_one_police_csv_batch_carries_several_notifications(self, parsed: list[Parsed]) -> None:
        batches = [p for p in parsed if p.request.content_type.startswith("text/csv")]
        assert len(batches) == 1
        assert batches[0].request.kind == "csv-batch"
        assert len(batches[0].envelopes) >= 2
        assert {e.source.system for e in batches[0].envelopes} == {"Niche RMS"}


class TestQualityProblems:
    """Findings, resends and duplicates arrive at a low rate, exactly as planned."""

    def test_findings_are_the_planned_ones(self, envelopes: list[Envelope]) -> None:
        codes = Counter(f.code for e in envelopes for f in e.quality.findings)
        assert codes["nhs_number_check_digit"] == PER_COUNTY_DAY["bad_nhs"]
        assert codes["child_without_date_of_birth"] == PER_COUNTY_DAY["undated"]
        assert codes["grade_disagrees_with_score"] == 0
        assert codes["consent_conflict"] == 0

    def test_resends_repeat_an_earlier_request_byte_for_byte(self, parsed: list[Parsed]) -> None:
        resends = [p for p in parsed if p.request.kind == "resend"]
        assert len(resends) == PER_COUNTY_DAY["resend"]
        for resend in resends:
            originals = [
                p
                for p in parsed
                if p.request.body == resend.request.body and p.request.kind != "resend"
            ]
            assert len(originals) == 1
            original = originals[0]
            assert original.request.sent_at <= resend.request.sent_at
            ids = [e.message_id for e in original.envelopes]
            assert ids == [e.message_id for e in resend.envelopes]

    def test_message_ids_are_unique_apart_from_resends(self, parsed: list[Parsed]) -> None:
        ids = Counter(
            e.message_id for p in parsed if p.request.kind != "resend" for e in p.envelopes
        )
        assert ids.most_common(1)[0][1] == 1


class TestSyntheticPeople:
    """Nobody is real: made-up names, ZZ99 postcodes, unissued NHS numbers."""

    def test_nhs_numbers_are_unissued_and_valid_unless_deliberately_not(
        self, envelopes: list[Envelope]
    ) -> None:
        numbers = [s.nhs_number for e in envelopes for s in e.subjects if s.nhs_number]
        assert numbers
        assert all(n.startswith("999") for n in numbers)
        failing = [n for n in numbers if not nhs_number_is_valid(n)]
        assert len(failing) == PER_COUNTY_DAY["bad_nhs"]

    def test_check_digit_matches_the_connectors(self) -> None:
        for nine in ("999000002", "999000001", "999123456", "999999999"):
            check = nhs_check_digit(nine)
            if check != 10:
                assert nhs_number_is_valid(f"{nine}{check}")
            assert not any(nhs_number_is_valid(f"{nine}{d}") for d in range(10) if d != check)

    def test_postcodes_schools_and_names_are_synthetic(self, envelopes: list[Envelope]) -> None:
        subjects = [s for e in envelopes for s in e.subjects]
        postcodes = [s.postcode for s in subjects if s.postcode]
        assert len(postcodes) > len(subjects) // 2
        assert all(re.fullmatch(r"ZZ99 \d[A-Z]{2}", postcode) for postcode in postcodes)
        urns = [s.school_urn for s in subjects if s.school_urn]
        assert urns
        assert all(re.fullmatch(r"\d{6}", urn) for urn in urns)
        names = {s.given_name for s in subjects if s.given_name}
        assert names <= set(GIVEN_ADULT) | set(GIVEN_CHILD)
        assert {s.family_name for s in subjects if s.family_name} <= set(FAMILY)

    def test_ages_fit_roles(self, envelopes: list[Envelope]) -> None:
        adults = {
            SubjectRole.PARENT_CARER,
            SubjectRole.PERSON_CAUSING_HARM,
            SubjectRole.PROFESSIONAL_SUBJECT,
            SubjectRole.VICTIM,
        }
        for envelope in envelopes:
            children = [c.age_years for c in envelope.children if c.age_years is not None]
            for subject in envelope.subjects:
                age = subject.age_years
                if subject.role is SubjectRole.CHILD:
                    assert age is None or 0 <= age < 18
                if subject.role in adults:
                    assert age is None or age >= 18, (envelope.kind, subject.role, age)
                if subject.role is SubjectRole.PARENT_CARER and age is not None and children:
                    assert age >= max(children) + 17
                if subject.school_urn:  # an undated child's age is unknown
                    assert subject.is_child
                    assert age is None or 4 <= age <= 17


class TestHistoryMatters:
    """Some children come back during the day, and two partners report one incident."""

    def test_a_few_children_appear_two_or_three_times(self, parsed: list[Parsed]) -> None:
        seen: dict[str, set[object]] = defaultdict(set)
        labels: dict[str, set[str]] = defaultdict(set)
        for item in parsed:
            for envelope in item.envelopes:
                for child in envelope.children:
                    seen[child.subject_key].add(envelope.message_id)
                    labels[child.subject_key].add(item.request.label)
        repeated = {key: len(ids) for key, ids in seen.items() if len(ids) > 1}
        assert len(repeated) >= PER_COUNTY_DAY["stories"]
        assert max(repeated.values()) == 3
        for key in repeated:  # nobody repeats by accident
            assert all("[" in label for label in labels[key])

    def test_siblings_share_a_household_key(self, parsed: list[Parsed]) -> None:
        """The siblings story: two children, two subject keys, one household key."""
        children = [
            child
            for item in parsed
            if "[siblings" in item.request.label
            for envelope in item.envelopes
            for child in envelope.children
        ]
        assert len(children) == 3 * PER_COUNTY_DAY["siblings"]
        assert len({c.subject_key for c in children}) == 2
        assert len({c.household_key for c in children}) == 1
        assert children[0].household_key is not None

    def test_police_and_the_da_service_report_the_same_incident(
        self, envelopes: list[Envelope]
    ) -> None:
        police = {
            e.subject_key: e for e in envelopes if e.kind == "police.notification.domestic_abuse"
        }
        dash = [e for e in envelopes if e.kind == "domestic_abuse.dash_assessment"]
        pairs = [(police[d.subject_key], d) for d in dash if d.subject_key in police]
        assert len(pairs) == PER_COUNTY_DAY["pairs"]
        for notification, assessment in pairs:
            assert notification.occurred_at == assessment.occurred_at
            assert notification.received_at < assessment.received_at
            assert {s.subject_key for s in notification.subjects} == {
                s.subject_key for s in assessment.subjects
            }


class TestDeterminismAndScale:
    """The same seed gives the same bytes; scale changes the volume, not the mix."""

    def test_same_seed_same_bytes(self, requests: list[PartnerRequest]) -> None:
        assert generate_day(DAY) == requests
        assert generate_day(DAY, seed=7, scale=1.0) == requests

    def test_another_seed_or_day_differs(self, requests: list[PartnerRequest]) -> None:
        bodies = {r.body for r in requests}
        assert not bodies & {r.body for r in generate_day(DAY, seed=8)}
        assert not bodies & {r.body for r in generate_day(DAY + timedelta(days=1))}

    @pytest.mark.parametrize("scale", [0.25, 0.5, 2.0])
    def test_scale_changes_the_volume(self, requests: list[PartnerRequest], scale: float) -> None:
        scaled = generate_day(DAY, scale=scale)
        assert len(scaled) == pytest.approx(len(requests) * scale, rel=0.1)
        assert sum(plan(scale).values()) == round(CONTACTS_PER_DAY * scale)
        parsed = parse_all(scaled)
        assert all((p.error is not None) == (p.request.kind == "invalid") for p in parsed)
        invalid = sum(p.request.kind == "invalid" for p in parsed)
        assert invalid == round(PER_COUNTY_DAY["invalid"] * scale)
        police = police_incidents(unique(parsed))
        share = sum(1 for e in police if not e.children) / len(police)
        assert 0.4 <= share <= 0.7

    @pytest.mark.parametrize("scale", [0.0, -1.0, math.nan, math.inf])
    def test_scale_must_be_a_positive_number(self, scale: float) -> None:
        with pytest.raises(ValueError, match="scale"):
            generate_day(DAY, scale=scale)

    @pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
    def test_clock_change_days_fit_their_hours(self, day: date, hours: int) -> None:
        start, end = day_bounds(day)
        assert end - start == timedelta(hours=hours)
        scaled = generate_day(day, scale=0.5)
        assert all(start <= r.sent_at < end for r in scaled)
        parsed = parse_all(scaled)
        assert all((p.error is not None) == (p.request.kind == "invalid") for p in parsed)


class TestSummary:
    """The summary counts requests by partner and by kind, and the counts add up."""

    def test_counts_add_up(self, requests: list[PartnerRequest]) -> None:
        summary = summarise(requests)
        assert summary["requests"] == len(requests)
        partners = [p.value for p in Partner]
        assert sum(summary[p] for p in partners) == len(requests)
        for partner in partners:
            kinds = {k: v for k, v in summary.items() if k.startswith(f"{partner}/")}
            assert sum(kinds.values()) == summary[partner]
        assert summary["police/csv-batch"] == 1
        assert sum(v for k, v in summary.items() if k.endswith("/invalid")) == 5
        assert sum(v for k, v in summary.items() if k.endswith("/resend")) == 2

    def test_an_empty_list_is_just_zero_requests(self) -> None:
        assert summarise([]) == {"requests": 0}


class TestVolumes:
    """The county-day volume is derived from the DfE figures, suppressed cells handled."""

    def test_the_daily_volume_is_derived_from_the_constants(self) -> None:
        assert pytest.approx(COUNTY_REFERRALS / 365) == REFERRALS_PER_DAY
        assert pytest.approx(10_000 * 12 / RATIO_REFERRALS) == CONTACTS_PER_REFERRAL
        assert round(REFERRALS_PER_DAY * CONTACTS_PER_REFERRAL) == CONTACTS_PER_DAY == 356
        assert sum(PARTNER_SHARES.values()) == pytest.approx(1.0)

    def test_the_constants_match_the_dfe_table(self) -> None:
        latest = latest_referrals(DFE_CSV, COUNTY_CODE)
        assert (latest.la_name, latest.year, latest.referrals) == (
            "Surrey",
            COUNTY_YEAR,
            COUNTY_REFERRALS,
        )
        years = {r.year: r for r in read_referrals(DFE_CSV, RATIO_CODE)}
        assert years[RATIO_YEAR].la_name == "West Sussex"
        assert years[RATIO_YEAR].referrals == RATIO_REFERRALS

    @pytest.mark.parametrize(
        ("cell", "count"),
        [("7960", 7960), ("1,234", 1234), (" 42 ", 42), ("c", None), ("x", None), ("u", None),
         ("z", None), ("", None)],
    )  # fmt: skip
    def test_count_cells_and_suppression_symbols(self, cell: str, count: int | None) -> None:
        assert count_cell(cell) == count

    def test_an_unknown_cell_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="not a count"):
            count_cell("12.5")

    def test_latest_year_skips_suppressed_counts(self, tmp_path: Path) -> None:
        header = "time_period,geographic_level,new_la_code,la_name,referral_count"
        rows = [
            "2025,Local authority,E10000099,Testshire,u",
            "2024,Local authority,E10000099,Testshire,5000",
            "2023,Local authority,E10000099,Testshire,c",
            "2025,Regional,E10000099,Testshire,9999",
            "2025,Local authority,E10000098,Otherton,x",
        ]
        path = tmp_path / "c1.csv"
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        years = read_referrals(path, "E10000099")
        assert [(r.year, r.referrals) for r in years] == [(2025, None), (2024, 5000), (2023, None)]
        assert latest_referrals(path, "E10000099").year == 2024
        with pytest.raises(LookupError, match="E10000098"):
            latest_referrals(path, "E10000098")


class TestPoliceCsvBatch:
    def test_a_batch_fills_its_size_with_new_references_the_connector_reads(self) -> None:
        """The load batch stays under its size, and every copy parses with references of its own."""
        batch = police_csv_batch(64 * 1024, "T")
        assert len(batch.body) <= 64 * 1024
        assert batch.copies > 1
        context = ParseContext(
            received_at=datetime(2026, 3, 2, 9, tzinfo=UTC), subject_key_secret=b"x" * 32
        )
        envelopes = connector_for(Partner.POLICE).parse(batch.body, "text/csv", context)
        references = {e.source.partner_reference for e in envelopes}
        assert len(envelopes) == len(references) == batch.notifications
        assert all("/T" in reference for reference in references)
