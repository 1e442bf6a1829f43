"""The claim as the API and the 837P see it.

`ClaimData` is the claim's content (what goes into the 837P). Its field rules are
structural (lengths, counts, signs), so a claim made from a partner's encounter is stored
even when it is not yet billable; the scrubber then says what to fix. A claim posted to
the API must also pass `domain.strict_errors` (known payer, NPI check digit, pointers that
point at a diagnosis), so bad input gets a 422 naming the field and nothing is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from services.claims.followups.schemas import StatusAnswerOut
from shared.events.catalogue import Address, Person
from shared.events.institutional import (
    ClaimType,
    InpatientAdjudication,
    Institutional,
    OutpatientAdjudication,
    RevenueCode,
)
from shared.inputs import MAX_DAYS

Money = Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
Npi = Annotated[str, Field(pattern=r"^\d{10}$", description="National Provider Identifier (10 digits).")]
Text = Annotated[str, Field(min_length=1, max_length=60)]
CoverageOrder = Literal["primary", "secondary", "tertiary"]
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]  # patient, payer
MemberId = Annotated[str, Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9\-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(Address):
    """The catalogue's address, refusing unknown fields (a typo is a 422, not silently lost)."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class PersonIn(Person):
    """Patient or subscriber demographics (PHI), with the catalogue's field rules."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    address: AddressIn | None = None


class SubscriberIn(PersonIn):
    member_id: MemberId
    group_number: str | None = Field(default=None, max_length=50)


class ProviderIn(Strict):
    """A claim's billing or rendering provider. Fields left out are taken from the practice's
    provider registry (/v1/providers) by NPI; what the caller sends wins, field by field."""

    npi: Npi
    entity_type: Literal["person", "organization"] | None = Field(
        default=None, description="NM102: unset, billing is an organization and rendering a person."
    )
    name: str | None = Field(default=None, max_length=60, description="Organization or last name.")
    first_name: str | None = Field(default=None, max_length=35)
    taxonomy: str | None = Field(default=None, pattern=r"^[0-9A-Z]{9}X$", description="NUCC taxonomy code.")
    tax_id: str | None = Field(default=None, pattern=r"^\d{9}$", description="EIN or SSN (9 digits).")
    tax_id_type: Literal["EI", "SY"] | None = Field(
        default=None, description="REF01: EI (unset) or SY (SSN)."
    )
    address: AddressIn | None = None


class AdjustmentIn(Strict):
    group_code: Literal["CO", "PR", "OA", "PI", "CR"]
    reason_code: str = Field(min_length=1, max_length=5, pattern=r"^[A-Z0-9]+$")
    amount: Money


class LineAdjudication(Strict):
    """What a prior payer did with one service line (837P loop 2430, from its 835's SVC/CAS):
    SV102 - paid - sum(adjustments) = 0 for each line the payer adjudicated."""

    line_number: int = Field(ge=1)
    paid: Money
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=30)
    code: str | None = Field(
        default=None,
        pattern=r"^[A-Z0-9]{5}$",
        description="SVD03: the procedure as the payer adjudicated it; the billed one when absent.",
    )
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: Decimal | None = Field(
        default=None, gt=0, description="SVD05: units paid; the billed ones when absent."
    )


class OtherCoverage(Strict):
    """Another payer on the claim: who pays before or after this one (837P loops 2320/2330).

    For a secondary claim the primary's adjudication is filled in (paid amount, CAS
    adjustments, per-line results); for a primary claim it only names the next payer.
    `adjustments` are the claim-level ones only (2320 CAS): an adjustment of a line goes in
    that line's `lines` entry (2430 CAS), never in both."""

    payer_id: Ident
    member_id: MemberId
    order: CoverageOrder
    relationship_code: str = Field(default="18", pattern=r"^\d{2}$")
    subscriber: PersonIn | None = None
    group_number: str | None = Field(default=None, max_length=50, description="That coverage's group number.")
    paid: Money | None = None
    patient_responsibility: Money | None = None
    adjudication_date: date | None = None
    payer_claim_control_number: str | None = Field(default=None, max_length=50)
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=30)
    lines: list[LineAdjudication] = Field(default_factory=list, max_length=100)
    inpatient: InpatientAdjudication | None = Field(
        default=None, description="That payer's MIA (835 loop 2100), for the 837I 2320 MIA."
    )
    outpatient: OutpatientAdjudication | None = Field(
        default=None, description="That payer's MOA (835 loop 2100), for the 837I 2320 MOA."
    )


class LineIn(Strict):
    code: str | None = Field(
        default=None,
        min_length=5,
        max_length=5,
        description="CPT or HCPCS code: on every professional line; on an institutional line when "
        "its revenue code requires one (837I SV202).",
    )
    revenue_code: RevenueCode | None = Field(
        default=None, description="Institutional lines only (UB-04 FL42, 837I SV201)."
    )
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: Decimal = Field(default=Decimal(1), gt=0, max_digits=7, decimal_places=3)
    charge: Money = Field(ge=0)
    date_of_service: date
    diagnosis_pointers: list[int] = Field(default_factory=lambda: [1], min_length=1, max_length=4)
    prior_authorization_number: str | None = Field(
        default=None,
        max_length=50,
        description="This line's prior authorization (837P loop 2400 REF*G1) when it differs from the "
        "claim's; set when the claim is sent from the authorizations on file.",
    )


class ClaimData(Strict):
    """Everything the 837P or 837I needs; stored as the claim's content."""

    claim_type: ClaimType = Field(
        default="professional",
        description="professional (837P, CMS-1500) or institutional (837I, UB-04): then `institutional` "
        "and each line's `revenue_code` are required, and `place_of_service` says where (21 inpatient, "
        "22 outpatient, 23 emergency room).",
    )
    patient_id: Ident
    patient: PersonIn | None = None
    subscriber: SubscriberIn | None = None
    relationship_code: str = Field(
        default="18", pattern=r"^\d{2}$", description="Patient to subscriber: 18 self, 01 spouse, 19 child."
    )
    payer_id: Ident
    coverage_order: CoverageOrder = "primary"
    billing_provider: ProviderIn
    rendering_provider: ProviderIn | None = None
    place_of_service: str = Field(pattern=r"^\d{2}$")
    diagnoses: list[str] = Field(
        min_length=1,
        max_length=25,
        description="ICD-10-CM, principal first: up to 12 on a professional claim; on an institutional "
        "one up to 25, the principal, the other and the external-cause (V00-Y99) diagnoses.",
    )
    lines: list[LineIn] = Field(min_length=1, max_length=100)
    prior_authorization_number: str | None = Field(
        default=None,
        max_length=50,
        description="The claim's prior authorization (837P loop 2300 REF*G1); when empty, the claim "
        "is sent with the valid authorization on file that covers its services.",
    )
    frequency_code: Literal["1", "2", "3", "4", "7", "8"] = Field(
        default="1",
        description="CLM05-3: 1 original, 7 replacement, 8 void; 2-4 interim bills (institutional only).",
    )
    original_payer_claim_control_number: str | None = Field(default=None, max_length=50)
    other_coverages: list[OtherCoverage] = Field(default_factory=list, max_length=2)
    institutional: Institutional | None = Field(
        default=None,
        validate_default=True,
        description="The facility's data (type of bill, stay, codes): institutional claims.",
    )
    attending_provider: ProviderIn | None = Field(
        default=None, description="837I 2310A: institutional claims."
    )
    operating_provider: ProviderIn | None = Field(default=None, description="837I 2310B.")
    other_operating_provider: ProviderIn | None = Field(default=None, description="837I 2310C.")

    # Which form the claim is decides which fields it must have (the scrubber checks the rest).
    # Field validators, not one model validator, so each refusal names its field; claim_type is
    # declared first, so it is in `info.data` when the others are checked.

    @field_validator("diagnoses")
    @classmethod
    def _diagnoses_fit_the_form(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("claim_type", "professional") == "professional" and len(value) > 12:
            raise PydanticCustomError("too_long", "At most 12 diagnoses on a professional claim (837P HI).")
        return value

    @field_validator("lines")
    @classmethod
    def _lines_fit_the_form(cls, value: list[LineIn], info: ValidationInfo) -> list[LineIn]:
        if info.data.get("claim_type", "professional") == "institutional":
            if any(line.revenue_code is None for line in value):
                raise PydanticCustomError(
                    "revenue_code_required", "Every institutional line has a revenue code (837I SV201)."
                )
        elif any(line.code is None or line.revenue_code is not None for line in value):
            raise PydanticCustomError(
                "procedure_code_required", "Every professional line has a CPT/HCPCS code and no revenue code."
            )
        return value

    @field_validator("frequency_code")
    @classmethod
    def _frequency_fits_the_form(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("claim_type", "professional") == "professional" and value not in ("1", "7", "8"):
            raise PydanticCustomError(
                "professional_frequency", "A professional claim's frequency is 1, 7 or 8."
            )
        return value

    @field_validator("institutional", "attending_provider", mode="after")
    @classmethod
    def _institutional_only(cls, value: Any, info: ValidationInfo) -> Any:
        institutional = info.data.get("claim_type", "professional") == "institutional"
        if institutional and info.field_name == "institutional" and value is None:
            raise PydanticCustomError("missing", "Required on an institutional claim.")
        if not institutional and value is not None:
            raise PydanticCustomError("institutional_only", "Only on an institutional claim.")
        return value

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))

    @property
    def first_date_of_service(self) -> date:
        return min(line.date_of_service for line in self.lines)


class ClaimRequest(ClaimData):
    """A new claim as posted. Leave out `payer_id` and `subscriber` (and `patient`) and they
    are taken from the registry's current copy: the coverage in force on the date of service
    (effective on or before it, not terminated before it) in `coverage_order` (primary
    unless said), with the other coverages in force as other payers. What is sent wins."""

    payer_id: Ident | None = Field(  # type: ignore[assignment]
        default=None,
        description="Absent (with no subscriber): the payer of the coverage on file in force on the "
        "date of service, in `coverage_order`.",
    )


class ClaimPatch(Strict):
    """Fields a draft or rejected claim may change; what is sent replaces what was there."""

    patient: PersonIn | None = None
    subscriber: SubscriberIn | None = None
    relationship_code: str | None = Field(default=None, pattern=r"^\d{2}$")
    payer_id: Ident | None = None
    billing_provider: ProviderIn | None = None
    rendering_provider: ProviderIn | None = None
    place_of_service: str | None = Field(default=None, pattern=r"^\d{2}$")
    diagnoses: list[str] | None = Field(default=None, min_length=1, max_length=25)
    lines: list[LineIn] | None = Field(default=None, min_length=1, max_length=100)
    prior_authorization_number: str | None = Field(default=None, max_length=50)
    other_coverages: list[OtherCoverage] | None = Field(default=None, max_length=2)
    institutional: Institutional | None = None
    attending_provider: ProviderIn | None = None
    operating_provider: ProviderIn | None = None
    other_operating_provider: ProviderIn | None = None


# --- answers ------------------------------------------------------------------------------

Status = Literal[
    "draft",
    "ready",
    "submitted",
    "accepted",
    "rejected",
    "paid",
    "partial",
    "denied",
    "appealed",
    "closed",
    "voided",
    "replaced",
]


class HistoryEntry(BaseModel):
    from_status: str | None
    to_status: str
    actor: str = Field(description="The user (token subject) or the event that changed it.")
    reason: str | None
    changed_at: datetime


class ClaimSummary(BaseModel):
    id: uuid.UUID
    patient_control_number: str
    status: str
    patient_id: str
    payer_id: str
    coverage_order: str
    frequency_code: str
    total_charge: Decimal
    date_of_service: date
    payer_claim_control_number: str | None
    paid_amount: Decimal | None
    patient_responsibility: Decimal | None
    encounter_id: str | None
    original_claim_id: uuid.UUID | None
    primary_claim_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None


class ClaimOut(ClaimSummary):
    data: ClaimData
    scrub: dict[str, Any] | None
    adjudication: dict[str, Any] | None
    history: list[HistoryEntry]
    status_answers: list[StatusAnswerOut] = Field(
        default_factory=list,
        description="What payers and clearinghouses said about the claim (277, 277CA, 999, TA1).",
    )
    insurance_balance: Decimal = Field(
        default=Decimal("0.00"),
        description="What the payer still owes on the claim (its A/R, as payments' insurance ledger has it).",
    )
    insurance_denied: Decimal = Field(
        default=Decimal("0.00"),
        description="Of insurance_balance: denied by the payer and not worked yet (appeal, correct, or in "
        "payments write off with approval or bill the patient for a PR denial).",
    )


@dataclass(frozen=True)
class ClaimFilters:
    """The claims list's filters (query parameters); each applies only when given."""

    status: Annotated[list[Status] | None, Query(max_length=20)] = None
    payer_id: Annotated[str | None, Query(max_length=64)] = None
    patient_id: Annotated[str | None, Query(max_length=64)] = None
    encounter_id: Annotated[str | None, Query(max_length=64)] = None
    min_age_days: Annotated[
        int | None, Query(ge=0, le=MAX_DAYS, description="Created at least this many days ago.")
    ] = None
    max_age_days: Annotated[int | None, Query(ge=0, le=MAX_DAYS)] = None
