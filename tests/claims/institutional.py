"""Builders of institutional claims (UB-04 / 837I) for the tests: an inpatient stay, an outpatient
visit and an emergency room visit, each a ClaimRequest body every 837I check passes. Kept beside
helpers.py (whose make_claim they start from) so that file stays a readable size."""

from __future__ import annotations

from typing import Any

from tests.claims.helpers import RENDERING_NPI, make_claim

# 837I physicians (2310A-C): the attending is the professional tests' rendering provider.
ATTENDING = {"npi": RENDERING_NPI, "name": "Grey", "first_name": "Meredith", "taxonomy": "207RC0000X"}
OPERATING = {"npi": "1003000126", "name": "Shepherd", "first_name": "Derek"}
OTHER_OPERATING = {"npi": "1003000134", "name": "Yang", "first_name": "Cristina"}


def make_inpatient(**overrides: Any) -> dict[str, Any]:
    """An acute inpatient stay (TOB 0111): chest pain admitted through the ER, a coronary stent
    (ICD-10-PCS 02703DZ), a fall as external cause, DRG 247, room and board days and a cath lab line."""
    inst = {
        "facility_type_code": "11",
        "statement_from": "2026-11-01",
        "statement_to": "2026-11-04",
        "admission": {"date": "2026-11-01", "hour": 14, "type": "1", "source": "1"},
        "discharge_hour": 11,
        "patient_status": "01",
        "admitting_diagnosis": "R079",
        "present_on_admission": {"I214": "Y", "E119": "Y", "W010XXA": "N", "Z9861": "1"},
        "procedures": [{"code": "02703DZ", "date": "2026-11-02"}, {"code": "B2111ZZ", "date": "2026-11-02"}],
        "condition_codes": ["39"],
        "occurrence_codes": [{"code": "11", "date": "2026-10-31"}],
        "occurrence_spans": [{"code": "74", "start": "2026-11-02", "end": "2026-11-03"}],
        "value_codes": [{"code": "80", "amount": "3"}],
        "drg_code": "247",
    }
    body = make_claim(
        claim_type="institutional",
        place_of_service="21",
        diagnoses=["I21.4", "E11.9", "W01.0XXA", "Z98.61"],
        rendering_provider=None,
        attending_provider=ATTENDING,
        operating_provider=OPERATING,
        other_operating_provider=OTHER_OPERATING,
        institutional=inst,
    )
    body["billing_provider"]["name"] = "Springfield General Hospital"
    body["billing_provider"]["taxonomy"] = "282N00000X"
    body["lines"] = [
        {"revenue_code": "0120", "units": "3", "charge": "4500.00", "date_of_service": "2026-11-01"},
        {"revenue_code": "0481", "code": "92928", "charge": "18000.00", "date_of_service": "2026-11-02"},
        {"revenue_code": "0250", "charge": "310.55", "date_of_service": "2026-11-02"},
    ]
    body.update(overrides)
    return body


def make_outpatient(**overrides: Any) -> dict[str, Any]:
    """A hospital outpatient visit (TOB 0131): lab and imaging by revenue code with HCPCS."""
    body = make_claim(
        claim_type="institutional",
        place_of_service="22",
        diagnoses=["R10.9", "K21.9"],
        rendering_provider=None,
        attending_provider=ATTENDING,
        institutional={
            "facility_type_code": "13",
            "statement_from": "2026-11-10",
            "statement_to": "2026-11-10",
            "patient_status": "01",
            "present_on_admission": {"R109": "Y"},
        },
    )
    body["lines"] = [
        {"revenue_code": "0300", "code": "80053", "charge": "120.00", "date_of_service": "2026-11-10"},
        {
            "revenue_code": "0320",
            "code": "74018",
            "modifiers": ["26"],
            "charge": "210.00",
            "date_of_service": "2026-11-10",
        },
    ]
    body.update(overrides)
    return body


def make_emergency(**overrides: Any) -> dict[str, Any]:
    """An emergency room visit (TOB 0131, revenue code 0450 with CPT 99284): admission type 1
    (emergency) and the patient's reason for visit."""
    body = make_outpatient(place_of_service="23", diagnoses=["S52.501A", "W19.XXXA"])
    body["institutional"] |= {
        "admission": {"date": "2026-11-10", "hour": 22, "type": "1", "source": "1"},
        "reason_for_visit": ["M25531"],
        "present_on_admission": {},
    }
    body["lines"] = [
        {
            "revenue_code": "0450",
            "code": "99284",
            "modifiers": ["25"],
            "charge": "950.00",
            "date_of_service": "2026-11-10",
        },
        {"revenue_code": "0320", "code": "73110", "charge": "180.00", "date_of_service": "2026-11-10"},
    ]
    body.update(overrides)
    return body
