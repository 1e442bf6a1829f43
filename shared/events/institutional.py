"""The institutional claim's own data (the UB-04's form locators, the 837I's loop 2300), shared
by the EHR's `encounter.completed` of kind institutional, the claims API and the payments events.

One definition, so the EHR, the claims service and the 837I writer cannot drift apart. Codes are
kept as the UB-04 and the 005010X223A2 guide spell them; who gives a code meaning (the NUBC
manual) is named on each field, not re-encoded here. Providers are not here: the EHR names them
by NPI and the claims service resolves them from its provider registry.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, get_args

from pydantic import Field

from shared.events.base import Money, Payload

ClaimType = Literal["professional", "institutional"]
CLAIM_TYPES: tuple[ClaimType, ...] = get_args(ClaimType)  # reports list both, in this order
REVENUE_CODE_PATTERN = r"^0[0-9]{3}$"  # NUBC revenue code as the contracts carry it
# Present on admission (837I HI0x-9, CMS POA reporting): Y yes, N no, U documentation
# insufficient, W clinically undetermined, 1 exempt (sent as blank in X12, kept as 1 here).
PresentOnAdmission = Literal["Y", "N", "U", "W", "1"]
Icd10Cm = Annotated[str, Field(pattern=r"^[A-TV-Z][0-9][0-9A-Z]{1,5}$", description="ICD-10-CM, no dot.")]
Icd10Pcs = Annotated[
    str, Field(pattern=r"^[0-9A-HJ-NP-Z]{7}$", description="ICD-10-PCS: seven characters, no I or O.")
]
NubcCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$", description="A two-character NUBC code.")]
RevenueCode = Annotated[
    str, Field(pattern=REVENUE_CODE_PATTERN, description="NUBC revenue code, four digits with the leading 0.")
]


class Admission(Payload):
    """UB-04 FL12-15; 837I 2300 DTP*435 (date and hour) and CL101/CL102."""

    date: date
    hour: int | None = Field(default=None, ge=0, le=23, description="FL13, 00-23.")
    type: str = Field(
        pattern=r"^[1-59]$",
        description="FL14 priority (CL101): 1 emergency, 2 urgent, 3 elective, 4 newborn, 5 trauma.",
    )
    source: str = Field(
        pattern=r"^[1-9A-GZ]$",
        description="FL15 point of origin (CL102): 1 non-health-care point, 2 clinic, 4 transfer from "
        "a hospital, 7 emergency room (retired, kept for old claims), …",
    )


class OccurrenceCode(Payload):
    """UB-04 FL31-34; 837I HI*BH."""

    code: NubcCode
    date: date


class OccurrenceSpan(Payload):
    """UB-04 FL35-36; 837I HI*BI."""

    code: NubcCode
    start: date
    end: date


class ValueCode(Payload):
    """UB-04 FL39-41; 837I HI*BE (an amount, or a count such as covered days)."""

    code: NubcCode
    amount: Decimal = Field(max_digits=12, decimal_places=2)


class Procedure(Payload):
    """UB-04 FL74; 837I HI*BBR (the principal, first) and HI*BBQ (the others)."""

    code: Icd10Pcs
    date: date


class Institutional(Payload):
    """The facility's part of an institutional claim (837I 2300 CLM05, DTP, CL1, HI).

    Type of bill (UB-04 FL4) = `0` + `facility_type_code` + the claim's frequency code."""

    facility_type_code: str = Field(
        pattern=r"^[1-8][1-9]$",
        description="FL4 digits 2-3 (837I CLM05-1): facility type and bill classification, e.g. "
        "11 hospital inpatient (Part A), 13 hospital outpatient, 85 critical access hospital outpatient.",
    )
    statement_from: date = Field(description="FL6 (DTP*434 RD8), the first day the claim covers.")
    statement_to: date = Field(description="FL6, the last day the claim covers.")
    admission: Admission | None = Field(default=None, description="Required on inpatient claims.")
    discharge_hour: int | None = Field(
        default=None,
        ge=0,
        le=23,
        description="FL16 (DTP*096): inpatient, at discharge.",
    )
    patient_status: str = Field(
        pattern=r"^[0-9]{2}$",
        description="FL17 (CL103): 01 home, 02 short-term hospital, 03 SNF, 06 home health, 07 left "
        "against advice, 20 expired, 30 still a patient, …",
    )
    admitting_diagnosis: Icd10Cm | None = Field(default=None, description="FL69 (HI*ABJ): inpatient.")
    present_on_admission: dict[str, PresentOnAdmission] = Field(
        default_factory=dict,
        max_length=30,
        description="FL67 POA indicator per diagnosis code of the claim (principal, other, external cause).",
    )
    reason_for_visit: list[Icd10Cm] = Field(
        default_factory=list, max_length=3, description="FL70 (HI*APR): unscheduled outpatient visits."
    )
    procedures: list[Procedure] = Field(
        default_factory=list, max_length=25, description="FL74: ICD-10-PCS, the principal first."
    )
    condition_codes: list[NubcCode] = Field(
        default_factory=list, max_length=24, description="FL18-28 (HI*BG)."
    )
    occurrence_codes: list[OccurrenceCode] = Field(default_factory=list, max_length=24)
    occurrence_spans: list[OccurrenceSpan] = Field(default_factory=list, max_length=24)
    value_codes: list[ValueCode] = Field(default_factory=list, max_length=24)
    drg_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{3}$",
        description="FL71 (HI*DR), MS-DRG: on inpatient claims the claims service sets it from its grouper.",
    )

    @property
    def inpatient(self) -> bool:
        """Bill classification 1 or 2 (inpatient Part A / Part B) of a hospital, SNF or CAH-style
        facility: the claims that carry an admission and are priced per stay."""
        return self.facility_type_code[1] in "12" and self.facility_type_code[0] in "12468"


class InpatientAdjudication(Payload):
    """835 loop 2100 MIA, carried to the next payer's 837I loop 2320 MIA."""

    covered_days: Decimal = Field(ge=0, description="MIA01: covered days or visits.")
    drg_amount: Money | None = Field(default=None, description="MIA04: claim DRG amount.")
    capital_amount: Money | None = Field(default=None, description="MIA08 PPS capital amount.")
    remark_codes: list[str] = Field(default_factory=list, max_length=5, description="MIA05, MIA20-23.")


class OutpatientAdjudication(Payload):
    """835 loop 2100 MOA, carried to the next payer's 837I loop 2320 MOA."""

    reimbursement_rate: Decimal | None = Field(default=None, description="MOA01, a percentage.")
    hcpcs_payable_amount: Money | None = Field(default=None, description="MOA02.")
    remark_codes: list[str] = Field(default_factory=list, max_length=5, description="MOA03-07.")
