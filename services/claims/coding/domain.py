"""The coding edits: plain functions of the claim and the code data in effect on its date of
service (`CodeData`, loaded from CMS files), each yielding (field, message) for what is wrong.

Rules that are data live in data/: the CPT modifiers and NCCI modifier groups in codes.json,
the ICD-10-CM age and sex conflicts in icd10cm_conflicts.json; code sets and edit tables are the
loaded versions (services.claims.codesets).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import simple_icd_10_cm as icd

from services.claims.claims.schemas import ClaimData, LineIn, PersonIn
from services.claims.codesets.domain import CodeData
from services.claims.reference import store as reference

Hit = tuple[str, str]  # (field, message)
CodingCheck = Callable[[ClaimData, CodeData], Iterator[Hit]]

CPT_FORMAT = re.compile(r"^(\d{5}|\d{4}[FTU])$")
HCPCS_FORMAT = re.compile(r"^[A-V]\d{4}$")
MODIFIER_FORMAT = re.compile(r"^[0-9A-Z]{2}$")
EXTERNAL_CAUSE = ("V", "W", "X", "Y")  # chapter 20, V00-Y99
SEX = {"F": "female", "M": "male"}


# --- diagnoses ----------------------------------------------------------------------------


def icd10cm_valid(data: ClaimData, codes: CodeData) -> Iterator[Hit]:
    for i, code in enumerate(data.diagnoses):
        if not icd.is_valid_item(code):
            yield f"diagnoses.{i}", f"Diagnosis {i + 1} is not an ICD-10-CM code."
        elif not icd.is_leaf(code):
            yield (
                f"diagnoses.{i}",
                f"Diagnosis {i + 1} is a category, not billable; code it to the highest specificity.",
            )
    seen: set[str] = set()
    for i, code in enumerate(data.diagnoses):
        key = code.replace(".", "").upper()
        if key in seen:
            yield f"diagnoses.{i}", f"Diagnosis {i + 1} repeats an earlier diagnosis; remove it."
        seen.add(key)


def patient_of(data: ClaimData) -> PersonIn | None:
    """Who the claim's diagnoses are about (their age and sex edits here, the DRG grouper's
    input in institutional): the subscriber when the patient is the subscriber (18)."""
    if data.relationship_code == "18":
        return data.subscriber or data.patient
    return data.patient or data.subscriber


def age_on(born: date, on: date) -> int:
    """Age in whole years on a day (a birthday counts from that day)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _rules(kind: str, code: str) -> list[dict[str, Any]]:
    """The rules whose ICD-10-CM item or range covers `code`, compared on the bounds' length
    with dots ignored ("D07.0-D07.3" covers D07.39)."""
    key = code.replace(".", "").upper()
    return [
        rule
        for rule in reference.icd10cm_conflicts()[kind]
        if rule["bounds"][0] <= key[: len(rule["bounds"][0])] <= rule["bounds"][1]
    ]


def diagnosis_sex_conflict(data: ClaimData, codes: CodeData) -> Iterator[Hit]:
    patient = patient_of(data)
    if patient is None or patient.gender not in SEX:
        return
    for i, code in enumerate(data.diagnoses):
        for rule in _rules("sex", code):
            if rule["sex"] != patient.gender:
                yield (
                    f"diagnoses.{i}",
                    f"Diagnosis {i + 1} ({code}) is {rule['what']}, coded for {SEX[rule['sex']]} patients "
                    f"only; the patient is {SEX[patient.gender]}: check the code and the patient's sex.",
                )


def diagnosis_age_conflict(data: ClaimData, codes: CodeData) -> Iterator[Hit]:
    patient = patient_of(data)
    if patient is None:
        return
    age = age_on(patient.birth_date, data.first_date_of_service)
    for i, code in enumerate(data.diagnoses):
        for rule in _rules("age", code):
            if not rule["min"] <= age <= rule["max"]:
                ages = "newborns (age 0)" if rule["max"] == 0 else f"ages {rule['min']}-{rule['max']}"
                note = f" {rule['note']}" if rule.get("note") else ""
                yield (
                    f"diagnoses.{i}",
                    f"Diagnosis {i + 1} ({code}) is {rule['what']}, coded for {ages}; the patient is {age} "
                    f"on the date of service: check the code and the birth date.{note}",
                )


def first_listed_diagnosis(data: ClaimData, codes: CodeData) -> Iterator[Hit]:
    """ICD-10-CM Official Guidelines I.C.20: an external-cause code (V00-Y99) is never the
    principal (first-listed) diagnosis: not the claim's first (HI ABK), nor a line's first pointer."""
    if data.diagnoses and data.diagnoses[0].upper().startswith(EXTERNAL_CAUSE):
        yield (
            "diagnoses.0",
            "Diagnosis 1 is an external-cause code (V00-Y99), which is never first-listed "
            "(ICD-10-CM guidelines I.C.20): list first the injury or condition it explains.",
        )
    if data.claim_type == "institutional":
        return  # its lines point at no diagnosis (UB-04 has no pointers)
    for i, line in enumerate(data.lines):
        pointer = line.diagnosis_pointers[0]
        if 1 <= pointer <= len(data.diagnoses) and data.diagnoses[pointer - 1].upper().startswith(
            EXTERNAL_CAUSE
        ):
            yield (
                f"lines.{i}.diagnosis_pointers.0",
                f"Line {i + 1}: its first diagnosis is an external-cause code; point first at the injury "
                "or condition it explains.",
            )


# --- procedures ---------------------------------------------------------------------------


def procedure_code(data: ClaimData, codes: CodeData) -> Iterator[Hit]:
    licensed = reference.operator_codes()
    for i, line in enumerate(data.lines):
        if line.code is None:
            continue  # an institutional line priced by its revenue code alone
        code, day = line.code.upper(), line.date_of_service
        entry = codes.procedures.get(code)
        if not (CPT_FORMAT.match(code) or HCPCS_FORMAT.match(code)):
            yield f"lines.{i}.code", f"Line {i + 1}: not a CPT or HCPCS code format."
        elif code in licensed:
            continue
        elif not codes.has_code_set:
            yield (
                f"lines.{i}.code",
                f"Line {i + 1}: no code set is in effect on {day}; load the CPT list and HCPCS file for it.",
            )
        elif entry is None:
            yield (
                f"lines.{i}.code",
                f"Line {i + 1}: {code} is not in the code set in effect on {day}; check it, or load the "
                "practice's CPT list or the current HCPCS file.",
            )
        elif entry.termination_date is not None and day > entry.termination_date:
            yield (
                f"lines.{i}.code",
                f"Line {i + 1}: {code} was terminated on {entry.termination_date}; bill the code that "
                "replaced it.",
            )
        elif not entry.valid_on(day):
            yield f"lines.{i}.code", f"Line {i + 1}: {code} is not valid before {entry.added_date}."


def _is_em(code: str) -> bool:
    return any(low <= code <= high for low, high in reference.codes()["evaluation_management_ranges"])


def _recognised(modifier: str, day: date, codes: CodeData, cpt_modifiers: set[str]) -> bool:
    """A CPT modifier (codes.json), or a Level II modifier of the HCPCS file in effect."""
    entry = codes.modifiers.get(modifier)
    return modifier in cpt_modifiers or (entry is not None and entry.valid_on(day))


def modifier_rules(data: ClaimData, codes: CodeData) -> Iterator[Hit]:
    table = reference.codes()
    cpt_modifiers = set(table["cpt_modifiers"])
    conflicts = [frozenset(pair) for pair in table["conflicting_modifiers"]]
    em_only = set(table["em_only_modifiers"])
    for i, line in enumerate(data.lines):
        mods = [m.upper() for m in line.modifiers]
        for j, mod in enumerate(mods):
            if not MODIFIER_FORMAT.match(mod) or not _recognised(
                mod, line.date_of_service, codes, cpt_modifiers
            ):
                yield (
                    f"lines.{i}.modifiers.{j}",
                    f"Line {i + 1}: modifier {j + 1} is not a recognised modifier.",
                )
            elif mod in em_only and not (line.code and _is_em(line.code)):
                yield f"lines.{i}.modifiers.{j}", f"Line {i + 1}: modifier {mod} belongs on an E/M code only."
        if len(set(mods)) != len(mods):
            yield f"lines.{i}.modifiers", f"Line {i + 1}: a modifier is repeated; list each once."
        for pair in conflicts:
            if pair <= set(mods):
                a, b = sorted(pair)
                yield f"lines.{i}.modifiers", f"Line {i + 1}: modifiers {a} and {b} contradict each other."


def _unbundled(first: LineIn, second: LineIn, table: dict[str, Any]) -> bool:
    """Whether the column-2 line carries a modifier that may unbundle it (indicator 1). NCCI
    Policy Manual ch. I: on an E/M only 25 (57 for the decision for surgery) applies, never 59
    or X; otherwise 59, the X modifiers, 91, or anatomic modifiers naming another site."""
    mine = {m.upper() for m in second.modifiers}
    if _is_em(second.code):
        return bool(mine & set(table["em_ncci_modifiers"]))
    if mine & set(table["ncci_bypass_modifiers"]):
        return True
    anatomic = set(table["ncci_anatomic_modifiers"])
    sites = mine & anatomic
    return bool(sites) and sites != {m.upper() for m in first.modifiers} & anatomic


def ncci_ptp(data: ClaimData, codes: CodeData) -> Iterator[Hit]:
    table = reference.codes()
    for i, first in enumerate(data.lines):
        for j, second in enumerate(data.lines):
            if i == j or first.date_of_service != second.date_of_service:
                continue
            edit = codes.ptp_edit(first.code.upper(), second.code.upper(), first.date_of_service)
            if edit is None or edit.modifier_indicator == "9":
                continue
            bundled = f"Line {j + 1} ({second.code}) is bundled into line {i + 1} ({first.code})"
            if edit.modifier_indicator == "0":
                yield f"lines.{j}.code", f"{bundled} and never billed with it; remove it."
            elif _unbundled(first, second, table):
                continue
            elif _is_em(second.code):
                yield (
                    f"lines.{j}.modifiers",
                    f"{bundled} on the same day; if the visit was significant and separately identifiable, "
                    "put modifier 25 on the E/M (57 if it decided on major surgery), otherwise remove it.",
                )
            else:
                yield (
                    f"lines.{j}.modifiers",
                    f"{bundled}; if it was a distinct service, add 59 or an X modifier (XE, XS, XP, XU), "
                    "otherwise remove it.",
                )


def _units(value: Decimal) -> str:
    return format(value.normalize(), "f")


def mue_units(data: ClaimData, codes: CodeData) -> Iterator[Hit]:
    """MUE practitioner edits. MAI 1 is a line edit (each line within the limit; more units of
    a distinct service go on another line with a modifier); MAI 2 and 3 count the whole date of
    service (2: policy, never paid beyond; 3: clinical, payable on appeal with records)."""
    days: dict[tuple[str, date], list[int]] = {}
    for i, line in enumerate(data.lines):
        days.setdefault((line.code.upper(), line.date_of_service), []).append(i)
    for (code, day), indexes in days.items():
        edit = codes.mue.get(code)
        if edit is None:
            continue
        if edit.mai == 1:
            for i in indexes:
                if data.lines[i].units > edit.units:
                    yield (
                        f"lines.{i}.units",
                        f"Line {i + 1}: {_units(data.lines[i].units)} units of {code} exceed the per-line "
                        f"limit of {edit.units} (MUE line edit); units of a distinct service go on another "
                        "line with the modifier that makes them distinct.",
                    )
            continue
        units = sum((data.lines[i].units for i in indexes), Decimal(0))
        if units > edit.units:
            why = (
                "a policy limit (MAI 2): the payer denies the excess and no appeal changes it"
                if edit.mai == 2
                else "a clinical limit (MAI 3): bill more only with records that show the need; "
                "the excess may be paid on appeal"
            )
            yield (
                f"lines.{indexes[-1]}.units",
                f"{_units(units)} units of {code} on {day} exceed the limit of {edit.units} per day, {why}.",
            )


CHECKS: tuple[CodingCheck, ...] = (
    icd10cm_valid,
    diagnosis_sex_conflict,
    diagnosis_age_conflict,
    first_listed_diagnosis,
    procedure_code,
    modifier_rules,
    ncci_ptp,
    mue_units,
)
