"""Eligibility's X12, without servers: the shared 271 samples read into the right numbers,
our 270s read back through an independent parser (x12sdk), and NPI check digits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from x12sdk.io import X12ModelReader

from services.eligibility.checks.x12 import Inquiry, build_270
from services.eligibility.coverage.domain import VERSION, summarize
from services.eligibility.coverage.x12 import parse_271
from shared.identifiers import npi_is_valid
from shared.x12 import X12Error
from tests.conftest import X12_SAMPLES

SAMPLES = X12_SAMPLES
S271 = SAMPLES / "271_005010X279A1"
COPAY_TYPES = ["1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"]


def read(name: str) -> str:
    return (S271 / name).read_text()


def test_subscriber_sample_271_reads_into_the_right_values():
    response = parse_271(read("subscriber-health-benefit-check.271"))
    assert response.status == "active"
    assert response.payer_id == "841610001" and response.payer_name == "ABC COMPANY"
    assert response.plan_name == "GOLD 123 PLAN"
    assert response.coverage_start == date(2006, 1, 1) and response.coverage_end is None
    assert response.trace_number == "93175-012547"
    assert response.rejections == [] and response.warnings == []
    copays = [b for b in response.benefits if b.info_code == "B"]
    assert [(b.amount, b.in_network, b.time_period, b.service_types) for b in copays] == [
        (Decimal("10.00"), "Y", "27", tuple(COPAY_TYPES)),
        (Decimal("30.00"), "N", "27", tuple(COPAY_TYPES)),
    ]
    by_code = {s.service_type_code: s for s in summarize(response, ["30", "98"])}
    assert set(by_code) == {"30", *COPAY_TYPES}
    for code in COPAY_TYPES:
        assert by_code[code].copay_in_network == Decimal("10.00")
        assert by_code[code].copay_out_of_network == Decimal("30.00")
        assert by_code[code].coinsurance_in_network is None
        assert by_code[code].deductible == {} and not by_code[code].prior_auth_required
    assert by_code["30"].copay_in_network is None


def test_dependent_sample_271_is_about_the_dependent():
    response = parse_271(read("dependent-health-benefit-check.271"))
    assert response.status == "active"
    assert response.relationship_code == "19"  # child
    assert response.coverage_start == date(2006, 1, 1)
    office = {s.service_type_code: s for s in summarize(response, ["98"])}["98"]
    assert (office.copay_in_network, office.copay_out_of_network) == (Decimal("10.00"), Decimal("30.00"))


def test_error_sample_271_gives_reason_and_follow_up_and_warns_about_se02():
    text = read("subscriber-health-benefit-check-error.271")
    with pytest.raises(X12Error) as strict:
        parse_271(text)
    assert strict.value.segment == "SE" and strict.value.element == 2
    response = parse_271(text, strict=False)
    assert response.warnings == ["SE02 does not match ST02 (segment 10, SE02)"]
    assert response.status == "error"
    [rejection] = response.rejections
    assert (rejection.level, rejection.reason_code, rejection.follow_up_code) == ("receiver", "50", "N")
    assert rejection.reason == "Provider ineligible for inquiries"
    assert rejection.follow_up_action.startswith("Do not resubmit")
    assert not rejection.transient


def test_deductibles_oop_coinsurance_prior_auth_and_cob_from_a_full_271():
    """A richer 271 (the shape payers send for a PPO) through the same parser."""
    body = [
        "BHT*0022*11*T1*20260105*1200",
        "HL*1**20*1",
        "NM1*PR*2*SANDBOX HEALTH PLAN*****PI*SBX001",
        "HL*2*1*21*1",
        "NM1*1P*2*CLINIC*****XX*1234567893",
        "HL*3*2*22*0",
        "TRN*2*T1*9REVCYCLE",
        "NM1*IL*1*DOE*JANE****MI*SBX10001",
        "REF*6P*GRP-777*ACME EMPLOYEES",
        "DTP*291*RD8*20260101-20261231",
        "EB*1*IND*30*PR*GOLD PPO",
        "EB*C*IND*30***23*1500.00*****Y",
        "EB*C*IND*30***29*1100.00*****Y",
        "EB*C*FAM*30***23*3000.00*****Y",
        "EB*C*FAM*30***29*2600.00*****Y",
        "EB*C*IND*30***23*3000.00*****N",
        "EB*G*IND*30***23*5000.00*****Y",
        "EB*G*IND*30***29*4200.50*****Y",
        "EB*B**98***27*25.00*****Y",
        "EB*A**98*****.2****Y",
        "EB*A**98*****.4****N",
        "EB*CB**MR*****.2***Y*Y",
        "EB*R**30",
        "LS*2120",
        "NM1*SEP*2*SANDBOX MUTUAL*****PI*SBX002",
        "LE*2120",
    ]
    from shared import x12

    text = x12.build(
        [[line.split("*") for line in body]],
        transaction_code="271",
        functional_id="HB",
        version=VERSION,
        sender_id="SBX001",
        receiver_id="REVCYCLE",
        control_number=7,
        now=datetime(2026, 1, 5, 12, 0),
    )
    response = parse_271(text)
    assert response.group_number == "GRP-777" and response.plan_name == "GOLD PPO"
    assert (response.coverage_start, response.coverage_end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert [(p.payer_id, p.order) for p in response.other_payers] == [("SBX002", "secondary")]
    by_code = {s.service_type_code: s for s in summarize(response, ["98", "MR"])}
    office = by_code["98"]
    assert office.copay_in_network == Decimal("25.00")
    assert (office.coinsurance_in_network, office.coinsurance_out_of_network) == (Decimal(20), Decimal(40))
    ind = office.deductible["individual"]
    assert (ind["in_network"].total, ind["in_network"].remaining) == (Decimal("1500.00"), Decimal("1100.00"))
    assert ind["out_of_network"].total == Decimal("3000.00")
    fam = office.deductible["family"]["in_network"]
    assert (fam.total, fam.remaining) == (Decimal("3000.00"), Decimal("2600.00"))
    oop = office.out_of_pocket["individual"]["in_network"]
    assert (oop.total, oop.remaining) == (Decimal("5000.00"), Decimal("4200.50"))
    assert by_code["MR"].prior_auth_required and not office.prior_auth_required


def test_our_270_reads_back_through_x12sdk():
    inquiry = Inquiry(
        payer_id="SBX001",
        payer_name="Sandbox Health Plan",
        provider_npi="1234567893",
        provider_name="Revcycle Clinic",
        member_id="SBX10001",
        first_name="Jane",
        last_name="O*Doe~",  # delimiters in data are cleaned, never break the file
        birth_date=date(1980, 2, 29),
        date_of_service=date(2026, 3, 1),
        service_type_codes=("30", "98", "MH"),
        trace_number="abc123",
    )
    text = build_270(inquiry, sender_id="REVCYCLE", control_number=42, now=datetime(2026, 3, 1, 9, 30))
    with X12ModelReader(text) as reader:
        [model] = list(reader.models())
    assert model.header.st_segment.transaction_set_identifier_code == "270"
    payer = model.loop_2000a[0]
    assert payer.loop_2100a.nm1_segment.identification_code == "SBX001"
    provider = payer.loop_2000b[0]
    assert provider.loop_2100b.nm1_segment.identification_code == "1234567893"
    assert provider.loop_2100b.nm1_segment.identification_code_qualifier == "XX"
    sub = provider.loop_2000c[0]
    assert sub.trn_segment[0].reference_identification_1 == "abc123"
    nm1 = sub.loop_2100c.nm1_segment
    assert (nm1.name_last_or_organization_name, nm1.name_first, nm1.identification_code) == (
        "O DOE",
        "JANE",
        "SBX10001",
    )
    assert str(sub.loop_2100c.dmg_segment.date_time_period) == "1980-02-29"
    assert str(sub.loop_2100c.dtp_segment.date_time_period) == "2026-03-01"
    assert [eq.eq_segment.service_type_code for eq in sub.loop_2100c.loop_2110c] == [["30"], ["98"], ["MH"]]
    assert model.footer.se_segment.transaction_segment_count == 15


def test_npi_check_digit_luhn_with_80840_prefix():
    assert npi_is_valid("1234567893")  # the CMS example
    assert not npi_is_valid("1234567890")
    assert npi_is_valid("1245319599") and not npi_is_valid("1245319598")
    assert not npi_is_valid("12345678")
