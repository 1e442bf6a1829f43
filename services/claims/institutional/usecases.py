"""The MS-DRG of an inpatient claim (UB-04 FL71, 837I 2300 HI*DR), from CMS's grouper.

The grouper is msdrg (PyPI, a port of CMS's Java MS-DRG grouper and Medicare Code Editor; the
comparison with the other candidate is in docs/institutional.md and the commit that added it).
A claim is grouped when it is made or changed (REST, encounter, correction, secondary), so the
DRG is on the claim the 837I writer reads; a claim the grouper cannot group keeps no DRG and
the scrubber's `drg_grouping` edit holds it with the grouper's reason, never an exception.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import msdrg

from services.claims.claims.schemas import ClaimData
from services.claims.coding.domain import age_on, patient_of
from services.claims.institutional.domain import POA_REPORTED, dx_code, poa_by_code

Hit = tuple[str, str]  # (field, message)
SEX = {"M": 0, "F": 1}  # the grouper's codes; 2 unknown
UNGROUPABLE = ("998", "999")  # principal diagnosis invalid as discharge diagnosis / ungroupable
# The grouper's reasons, as a biller reads them (its return codes, the CMS grouper's own).
REASONS = {
    "INVALID_PDX": "the principal diagnosis is not a valid ICD-10-CM code on the discharge date",
    "DX_CANNOT_BE_PDX": "the principal diagnosis cannot be a principal diagnosis (e.g. an external cause)",
    "INVALID_AGE": "the patient's age is invalid",
    "INVALID_SEX": "the patient's sex is invalid for the grouper",
    "INVALID_DISCHARGE_STATUS": "the patient status is not a discharge status the grouper knows",
    "HAC_MISSING_ONE_POA": "a hospital-acquired-condition diagnosis lacks its POA indicator",
    "HAC_STATUS_INVALID_MULT_HACS_POA_NOT_Y_W": "several hospital-acquired conditions lack POA Y/W",
}


@dataclass(frozen=True)
class Grouping:
    """What the grouper said: the MS-DRG (three digits), or why there is none."""

    drg: str | None
    reason: str | None = None
    version: int | None = None


def grouper_version(discharge: date) -> int | None:
    """The MS-DRG version in force on the discharge date, or None when msdrg has none.

    CMS groups a discharge by the version of the federal fiscal year it falls in, and the
    fiscal year starts on October 1 (FY2026 = Oct 1 2025 - Sep 30 2026, MS-DRG v43; v43.1 from
    April 1, when the mid-year ICD-10 codes take effect). msdrg numbers them 430, 431, ...:
    the base release from October, the `1` release from April (when it ships one; else the
    base release stays in force). So a claim is grouped with the codes and logic its payer
    prices it by, and a late claim is not grouped by a newer year's rules."""
    fiscal_year = discharge.year + 1 if discharge.month >= 10 else discharge.year
    base = 400 + (fiscal_year - 2023) * 10
    available = set(msdrg.MsdrgGrouper.available_versions())
    midyear = base + 1 if 4 <= discharge.month <= 9 else None
    if midyear in available:
        return midyear
    return base if base in available else None


def grouper_claim(data: ClaimData, version: int) -> dict[str, Any] | None:
    """The grouper's input: age at admission, sex, discharge status (the patient status, FL17),
    principal and other diagnoses with their POA, admitting diagnosis, ICD-10-PCS procedures
    (principal first). None without the patient's birth date (no age, nothing to group)."""
    inst, patient = data.institutional, patient_of(data)
    if inst is None or patient is None:
        return None
    admitted = inst.admission.date if inst.admission else inst.statement_from
    poa = poa_by_code(inst)

    def dx(code: str) -> dict[str, str]:
        key = dx_code(code)
        value = poa.get(key)
        return {"code": key, "poa": value} if value in POA_REPORTED else {"code": key}

    claim: dict[str, Any] = {
        "version": version,
        "age": max(age_on(patient.birth_date, admitted), 0),
        "sex": SEX.get(patient.gender, 2),
        "discharge_status": int(inst.patient_status),
        "hospital_status": "NOT_EXEMPT",
        "pdx": dx(data.diagnoses[0]),
        "sdx": [dx(code) for code in data.diagnoses[1:]],
        "procedures": [{"code": p.code} for p in inst.procedures],
    }
    if inst.admitting_diagnosis:
        claim["admit_dx"] = dx(inst.admitting_diagnosis)
    return claim


@cache
def _grouper() -> msdrg.MsdrgGrouper:
    """One grouper per process (a native handle; its tables are read once)."""
    handle = msdrg.MsdrgGrouper()
    atexit.register(handle.close)  # freed before the interpreter tears down ctypes
    return handle


def group(data: ClaimData) -> Grouping | None:
    """The MS-DRG of an inpatient claim, or why it has none; None for other claims."""
    inst = data.institutional
    if data.claim_type != "institutional" or inst is None or not inst.inpatient:
        return None
    version = grouper_version(inst.statement_to)
    if version is None:
        return Grouping(None, "the grouper has no MS-DRG version for the discharge date")
    claim = grouper_claim(data, version)
    if claim is None:
        return Grouping(None, "the patient's birth date and sex are needed for the age and sex", version)
    try:
        result = _grouper().group(claim)  # type: ignore[arg-type]
    except (RuntimeError, ValueError, TypeError):
        return Grouping(None, "the grouper could not read the claim's codes", version)
    drg = result.get("final_drg")
    code = f"{drg:03d}" if isinstance(drg, int) else None
    if result.get("return_code") != "OK" or code is None or code in UNGROUPABLE:
        why = str(result.get("return_code") or "ungroupable")
        return Grouping(None, REASONS.get(why, f"the grouper returned {why}"), version)
    return Grouping(code, None, version)


def with_drg(data: ClaimData) -> ClaimData:
    """The claim with the grouper's MS-DRG (inpatient), or with none when it cannot be grouped
    (a DRG someone typed is not kept: the payer prices by the grouper's). Other claims as they are."""
    grouping = group(data)
    if grouping is None or data.institutional is None or grouping.drg == data.institutional.drg_code:
        return data
    institutional = data.institutional.model_copy(update={"drg_code": grouping.drg})
    return data.model_copy(update={"institutional": institutional})


def drg_grouping(data: ClaimData, ctx: object) -> Iterator[Hit]:
    """The scrubber's edit: an inpatient claim the MS-DRG grouper cannot group (return code not
    OK, or DRG 998/999) is held, naming the grouper's reason (UB-04 FL71, 837I HI*DR)."""
    grouping = group(data)
    if grouping is not None and grouping.drg is None:
        yield (
            "institutional.drg_code",
            f"The claim cannot be grouped to an MS-DRG: {grouping.reason} (UB-04 FL71; 837I 2300 HI*DR). "
            "Fix the diagnoses, patient status or demographics it names.",
        )
