"""The API's models of a coverage check, and the input rules shared by single checks and batches.

Rule names become `errors[].rule` in the 422 problem document, so a client can tell a bad
NPI check digit from a malformed member id without reading prose (and without the value
being echoed back: it may be PHI).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

from services.eligibility.demographics.schemas import PersonOut, PlanTypeOut, ProviderOut
from shared.events.catalogue import Id
from shared.identifiers import npi_is_valid

ServiceTypeCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,2}$", description="X12 service type code.")]


def _npi(value: str) -> str:
    if len(value) != 10 or not value.isdigit():
        raise PydanticCustomError("npi_format", "An NPI is exactly 10 digits.")
    if not npi_is_valid(value):
        raise PydanticCustomError(
            "npi_check_digit", "The NPI's check digit is wrong (Luhn with prefix 80840)."
        )
    return value


def _member_id(value: str) -> str:
    if not (2 <= len(value) <= 80) or not all(c.isalnum() or c == "-" for c in value) or not value.isascii():
        raise PydanticCustomError(
            "member_id_format", "A member id is 2-80 letters, digits or hyphens, as printed on the card."
        )
    return value


def _not_future(value: date) -> date:
    if value > date.today():
        raise PydanticCustomError("date_in_future", "The date of birth cannot be in the future.")
    return value


Npi = Annotated[str, AfterValidator(_npi), Field(description="10-digit NPI with a valid check digit.")]
MemberId = Annotated[str, AfterValidator(_member_id), Field(description="Member id on the insurance card.")]
BirthDate = Annotated[date, AfterValidator(_not_future)]


class PatientIn(BaseModel):
    """Who the check is for (PHI: kept encrypted, never logged or put in events)."""

    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: BirthDate


class DependentIn(BaseModel):
    """The patient, when they are the subscriber's dependent without a member id of their own
    (asked about in the 270's loop 2100D). PHI: kept encrypted, never logged or put in events."""

    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: BirthDate
    gender: Literal["F", "M"] | None = Field(None, description="DMG03 as the 270 allows it.")
    relationship: Literal["spouse", "child", "other_adult"] | None = Field(
        None, description="To the subscriber (270 INS02: 01, 19 or 34)."
    )


class CheckIn(BaseModel):
    """One coverage check."""

    model_config = ConfigDict(extra="forbid")

    patient_id: Id = Field(description="The practice's patient (account) id.")
    patient: PatientIn = Field(
        description="The subscriber (card holder): the patient, unless `dependent` is given."
    )
    dependent: DependentIn | None = Field(
        None, description="The patient when they are the subscriber's dependent without their own member id."
    )
    member_id: MemberId
    payer_id: Id
    provider_npi: Npi
    service_type_codes: list[ServiceTypeCode] = Field(
        default_factory=lambda: ["30"], min_length=1, max_length=99
    )
    date_of_service: date = Field(default_factory=date.today)


class RegistryCheckIn(BaseModel):
    """A coverage check run from the registry: eligibility's copy of the front office's
    patient and coverages gives the subscriber, the dependent (when the patient is not the
    subscriber), the member id and the payer of the coverage in force on the date of service."""

    model_config = ConfigDict(extra="forbid")

    patient_id: Id = Field(description="The registry's patient id.")
    date_of_service: date = Field(default_factory=date.today)
    service_type_codes: list[ServiceTypeCode] = Field(
        default_factory=lambda: ["30"], min_length=1, max_length=99
    )
    coverage_order: Literal["primary", "secondary", "tertiary"] = Field(
        "primary", description="Which of the patient's coverages in force to check."
    )
    provider_npi: Npi | None = Field(
        None, description="The information receiver (2100B); ELIGIBILITY_PROVIDER_NPI when absent."
    )


# Fields only a full request has: a body naming any of them is read as a `CheckIn`, any other
# as a `RegistryCheckIn`, so each shape's errors name its own fields (`body.member_id`).
_FULL_ONLY = frozenset({"patient", "dependent", "member_id", "payer_id"})


def _one_shape(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if isinstance(value, CheckIn | RegistryCheckIn):
        return value
    shape = CheckIn if isinstance(value, dict) and _FULL_ONLY & value.keys() else RegistryCheckIn
    return shape.model_validate(value)


CheckRequest = Annotated[
    CheckIn | RegistryCheckIn,
    WrapValidator(_one_shape),
    Field(description="A full request (who, member id, payer), or only a patient id and a date."),
]


class Money2(BaseModel):
    in_network: Decimal | None = None
    out_of_network: Decimal | None = None


class AccumulatorOut(BaseModel):
    total: Decimal | None = None
    met: Decimal | None = None
    remaining: Decimal | None = None


class NetworkAccumulators(BaseModel):
    in_network: AccumulatorOut | None = None
    out_of_network: AccumulatorOut | None = None


class LevelAccumulators(BaseModel):
    individual: NetworkAccumulators | None = None
    family: NetworkAccumulators | None = None


class PerPeriod(BaseModel):
    """What a copay is charged per (the 271's EB06: visit, admission, day, episode)."""

    in_network: str | None = None
    out_of_network: str | None = None


class ServiceBenefitsOut(BaseModel):
    service_type_code: str
    copay: Money2
    coinsurance_percent: Money2
    deductible: LevelAccumulators
    out_of_pocket: LevelAccumulators
    prior_auth_required: bool
    messages: list[str] = Field(default_factory=list)
    # Hospital service types (48, 50, 86): per admission or per visit; a deductible per
    # admission apart from the year's (checks kept before issue 20 have neither: the defaults).
    copay_per: PerPeriod = Field(default_factory=PerPeriod)
    deductible_per_admission: Money2 = Field(default_factory=Money2)


class RejectionOut(BaseModel):
    level: str
    reason_code: str
    reason: str
    follow_up_code: str
    follow_up_action: str
    transient: bool


class OtherPayerOut(BaseModel):
    payer_id: str
    name: str
    order: str | None
    member_id: str | None = None


class CheckError(BaseModel):
    code: str
    detail: str
    retryable: bool


class CheckOut(BaseModel):
    id: uuid.UUID
    state: Literal["pending", "done", "failed"]
    status: Literal["active", "inactive", "error"] | None = None
    patient_id: str
    payer_id: str
    member_hint: str = Field(description="Last characters of the member id, for display.")
    date_of_service: date
    service_type_codes: list[str]
    plan_name: str | None = None
    group_number: str | None = None
    plan_type: PlanTypeOut | None = Field(None, description="EB04 of the coverage: HM, PR, C1, MB...")
    plan_number: str | None = Field(None, description="REF*18.")
    plan_messages: list[str] = Field(default_factory=list, description="MSG text of the coverage rows.")
    subscriber: PersonOut | None = Field(None, description="As the payer has them (271 loop 2100C).")
    dependent: PersonOut | None = Field(None, description="As the payer has them (271 loop 2100D).")
    patient_account_number: str | None = Field(None, description="REF*EJ as the payer returned it.")
    primary_care_provider: ProviderOut | None = None
    demographics_mismatches: list[str] = Field(
        default_factory=list,
        description="Request fields the payer's answer contradicts (e.g. `patient.birth_date`), to correct.",
    )
    registry_revision: int | None = Field(
        None, description="A check run from the registry: the revision of the copy it was built from."
    )
    registry_discrepancies: list[str] = Field(
        default_factory=list,
        description="A check run from the registry: what the 271 says differently from it (field "
        "names, e.g. `birth_date`); eligibility.discrepancy_found carries both values.",
    )
    coverage_start: date | None = None
    coverage_end: date | None = None
    benefits: list[ServiceBenefitsOut] = Field(default_factory=list)
    other_payers: list[OtherPayerOut] = Field(default_factory=list)
    rejections: list[RejectionOut] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    error: CheckError | None = None
    cached: bool = False
    batch_id: uuid.UUID | None = None
    created_at: datetime
    completed_at: datetime | None = None
    links: dict[str, str] = Field(default_factory=dict)


class RawX12(BaseModel):
    check_id: uuid.UUID
    source_check_id: uuid.UUID = Field(
        description="The check that called the payer (differs for cache hits)."
    )
    x12_270: str
    x12_271: str | None
