"""The generated 837P, read back by an independent parser (x12sdk's typed 005010X222A2 models)
to the same values, and passed by pyx12's strict 837P validator with zero errors: multi-line,
modifiers, 12 diagnoses, a replacement, a void, a secondary with COB and a dependent patient.
shared/x12.parse checks the envelopes and counts as well."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from x12sdk.io import X12ModelReader

from services.claims.claims.schemas import ClaimData
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import generate
from shared import x12
from tests.claims.cob import x12_837_errors
from tests.claims.helpers import BILLING_NPI, RENDERING_NPI, make_claim

TWELVE = [
    "E11.9",
    "I10",
    "Z00.00",
    "J06.9",
    "M54.50",
    "R51.9",
    "K21.9",
    "E78.5",
    "F41.1",
    "G47.00",
    "N39.0",
    "R05.9",
]


def roundtrip(body: dict[str, Any], pcn: str = "C1234567890ABCDEF") -> tuple[Any, ClaimData, str]:
    data = ClaimData.model_validate(body)
    text = generate(data, pcn, control_number=7001, settings=ClaimsSettings())
    inter = x12.parse(text, expect="837")  # envelopes, SE/GE/IEA counts and control numbers
    assert inter.transactions[0].st.get(3) == "005010X222A2"
    assert x12_837_errors(text) == []  # pyx12, and the guide's COB balancing
    with X12ModelReader(text) as reader:
        models = list(reader.models())
    assert len(models) == 1
    return models[0], data, text


def claim_loop(model: Any) -> Any:
    billing = model.loop_2000a[0]
    subscriber = billing.loop_2000b[0]
    if subscriber.loop_2300:
        return subscriber.loop_2300[0]
    return subscriber.loop_2000c[0].loop_2300[0]


def lines_of(clm: Any) -> list[tuple[list[str], Decimal, Decimal, str, date]]:
    out = []
    for line in clm.loop_2400:
        sv1 = line.sv1_segment
        proc = sv1.product_service_id_qualifier
        proc = proc if isinstance(proc, list) else proc.split(":")
        out.append(
            (
                proc,
                Decimal(sv1.line_item_charge_amount),
                Decimal(sv1.service_unit_count),
                sv1.composite_diagnosis_code_pointer,
                line.dtp_segment[0].date_time_period,
            )
        )
    return out


def test_multi_line_claim_with_modifiers_and_twelve_diagnoses_reads_back():
    body = make_claim(diagnoses=TWELVE)
    body["lines"].append(
        {
            "code": "36415",
            "modifiers": ["59", "XU", "91", "GA"],
            "units": "3",
            "charge": "12.34",
            "date_of_service": body["lines"][0]["date_of_service"],
            "diagnosis_pointers": [9, 10, 11, 12],
        }
    )
    model, data, _ = roundtrip(body)
    billing = model.loop_2000a[0]
    assert billing.loop_2010aa.nm1_segment.identification_code == BILLING_NPI
    assert billing.loop_2010aa.ref_segment[0].reference_identification == "123456789"
    sub = billing.loop_2000b[0]
    assert sub.sbr_segment.payer_responsibility_code == "P"
    assert sub.loop_2010ba.nm1_segment.identification_code == "SBX10001"
    assert sub.loop_2010bb.nm1_segment.identification_code == "SBX001"
    clm = claim_loop(model)
    assert clm.clm_segment.patient_control_number == "C1234567890ABCDEF"
    assert Decimal(clm.clm_segment.total_claim_charge_amount) == data.total_charge == Decimal("187.34")
    assert clm.clm_segment.health_care_service_location_information.split(":") == ["11", "B", "1"]
    hi = clm.hi_segment[0]
    codes = [getattr(hi, f"health_care_code_{i}") for i in range(1, 13)]
    assert [c[0] for c in codes] == ["ABK"] + ["ABF"] * 11
    assert [c[1] for c in codes] == [d.replace(".", "") for d in TWELVE]
    assert clm.loop_2310b.nm1_segment.identification_code == RENDERING_NPI
    got = lines_of(clm)
    assert [g[0] for g in got] == [
        ["HC", "99213", "25"],
        ["HC", "93000", "59"],
        ["HC", "36415", "59", "XU", "91", "GA"],
    ]
    assert [g[1] for g in got] == [Decimal("125"), Decimal("50"), Decimal("12.34")]
    assert [g[2] for g in got] == [1, 1, 3]
    pointers = [g[3] if isinstance(g[3], str) else ":".join(map(str, g[3])) for g in got]
    assert pointers == ["1:2", "2", "9:10:11:12"]
    assert {g[4] for g in got} == {data.lines[0].date_of_service}


def test_replacement_claim_carries_frequency_7_and_the_original_control_number():
    body = make_claim(
        frequency_code="7",
        original_payer_claim_control_number="PAYER-ICN-42",
        prior_authorization_number="AUTH77",
    )
    model, _, _ = roundtrip(body)
    clm = claim_loop(model)
    assert clm.clm_segment.health_care_service_location_information.split(":")[2] == "7"
    refs = {r.reference_identification_qualifier: r.reference_identification for r in clm.ref_segment}
    assert refs == {"F8": "PAYER-ICN-42", "G1": "AUTH77"}


def test_void_is_frequency_8():
    model, _, _ = roundtrip(make_claim(frequency_code="8", original_payer_claim_control_number="ICN8"))
    clm = claim_loop(model)
    assert clm.clm_segment.health_care_service_location_information.endswith(":8")


def test_secondary_claim_has_cob_loops_2320_2330_and_2430():
    body = make_claim(payer_id="SBX002", coverage_order="secondary")
    body["subscriber"]["member_id"] = "SBX40002S"
    body["other_coverages"] = [
        {
            "payer_id": "SBX001",
            "member_id": "SBX40002",
            "order": "primary",
            "paid": "100.00",
            "patient_responsibility": "30.00",
            "adjudication_date": "2026-10-20",
            "payer_claim_control_number": "PRIM-ICN-1",
            # The primary adjusted each line, none at claim level: each is reported once (2430).
            "adjustments": [],
            "lines": [
                {
                    "line_number": 1,
                    "paid": "80.00",
                    "adjustments": [
                        {"group_code": "CO", "reason_code": "45", "amount": "25.00"},
                        {"group_code": "PR", "reason_code": "2", "amount": "20.00"},
                    ],
                },
                {
                    "line_number": 2,
                    "paid": "20.00",
                    "adjustments": [
                        {"group_code": "CO", "reason_code": "45", "amount": "20.00"},
                        {"group_code": "PR", "reason_code": "2", "amount": "10.00"},
                    ],
                },
            ],
        }
    ]
    model, _, _ = roundtrip(body)
    sub = model.loop_2000a[0].loop_2000b[0]
    assert sub.sbr_segment.payer_responsibility_code == "S"
    assert sub.loop_2010ba.nm1_segment.identification_code == "SBX40002S"
    assert sub.loop_2010bb.nm1_segment.identification_code == "SBX002"
    clm = claim_loop(model)
    (other,) = clm.loop_2320
    assert other.sbr_segment.payer_responsibility_code == "P"
    assert not other.cas_segment
    amts = {a.amount_qualifier_code: Decimal(a.monetary_amount) for a in other.amt_segment}
    assert amts == {"D": Decimal("100"), "EAF": Decimal("30")}
    assert other.loop_2330a.nm1_segment.identification_code == "SBX40002"
    assert other.loop_2330b.nm1_segment.identification_code == "SBX001"
    assert other.loop_2330b.dtp_segment is None  # with 2430, the date is the lines'
    line_results = []
    for line in clm.loop_2400:
        (adj,) = line.loop_2430
        assert adj.dtp_segment.date_time_period == date(2026, 10, 20)
        line_results.append(
            (
                adj.svd_segment.other_payer_primary_identifier,
                Decimal(adj.svd_segment.service_line_paid_amount),
                sorted(
                    (c.adjustment_group_code, c.adjustment_reason_code_1, Decimal(c.monetary_amount_1))
                    for c in adj.cas_segment
                ),
            )
        )
    assert line_results == [
        ("SBX001", Decimal("80"), [("CO", "45", Decimal("25")), ("PR", "2", Decimal("20"))]),
        ("SBX001", Decimal("20"), [("CO", "45", Decimal("20")), ("PR", "2", Decimal("10"))]),
    ]
    # The lines' paid amounts add up to the claim-level paid amount (COB balancing).
    assert sum(r[1] for r in line_results) == amts["D"]


def test_dependent_patient_gets_the_2000c_patient_loop():
    body = make_claim(
        relationship_code="19",
        patient={"first_name": "Tim", "last_name": "Doe", "birth_date": "2015-06-07", "gender": "M"},
    )
    model, _, _ = roundtrip(body)
    sub = model.loop_2000a[0].loop_2000b[0]
    assert sub.sbr_segment.individual_relationship_code is None
    patient = sub.loop_2000c[0]
    assert patient.pat_segment.individual_relationship_code == "19"
    assert patient.loop_2010ca.nm1_segment.name_first == "TIM"
    assert patient.loop_2010ca.dmg_segment.date_time_period == date(2015, 6, 7)
    # No address of their own: the subscriber's (the guide requires one in 2010CA).
    assert patient.loop_2010ca.n3_segment.address_information_1 == "1 MAIN ST"
    assert patient.loop_2300[0].clm_segment.patient_control_number == "C1234567890ABCDEF"


def test_delimiters_in_free_text_cannot_break_the_file():
    body = make_claim()
    body["billing_provider"]["name"] = "Smith*Jones~Clinic:Ltd^"
    model, _, _ = roundtrip(body)
    assert (
        model.loop_2000a[0].loop_2010aa.nm1_segment.name_last_or_organization_name == "SMITH JONES CLINIC LTD"
    )
