"""The claim as the API and the 837P see it, and the strict checks a new claim must pass.

`ClaimData` is the claim's content (what goes into the 837P). Its field rules are
structural (lengths, counts, signs), so a claim made from a partner's encounter is stored
even when it is not yet billable; the scrubber then says what to fix. A claim posted to
the API must also pass `strict_errors` (known payer, NPI check digit, pointers that point
at a diagnosis), so bad input gets a 422 naming the field and nothing is written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.claims import reference
from shared.events.catalogue import Address, Person
from shared.identifiers import npi_is_valid
from shared.problems import FieldError

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
    npi: Npi
    name: str | None = Field(default=None, max_length=60, description="Organization or last name.")
    first_name: str | None = Field(default=None, max_length=35)
    taxonomy: str | None = Field(default=None, pattern=r"^[0-9A-Z]{9}X$", description="NUCC taxonomy code.")
    tax_id: str | None = Field(default=None, pattern=r"^\d{9}$", description="EIN (9 digits).")
    address: AddressIn | None = None


class AdjustmentIn(Strict):
    group_code: Literal["CO", "PR", "OA", "PI", "CR"]
    reason_code: str = Field(min_length=1, max_length=5, pattern=r"^[A-Z0-9]+$")
    amount: Money


class LineAdjudication(Strict):
    """What a prior payer did with one service line (837P loop 2430)."""

    line_number: int = Field(ge=1)
    paid: Money
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=15)


class OtherCoverage(Strict):
    """Another payer on the claim: who pays before or after this one (837P loops 2320/2330).

    For a secondary claim the primary's adjudication is filled in (paid amount, CAS
    adjustments, per-line results); for a primary claim it only names the next payer."""

    payer_id: Ident
    member_id: MemberId
    order: CoverageOrder
    relationship_code: str = Field(default="18", pattern=r"^\d{2}$")
    subscriber: PersonIn | None = None
    paid: Money | None = None
    patient_responsibility: Money | None = None
    adjudication_date: date | None = None
    payer_claim_control_number: str | None = Field(default=None, max_length=50)
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=15)
    lines: list[LineAdjudication] = Field(default_factory=list, max_length=50)


class LineIn(Strict):
    code: str = Field(min_length=5, max_length=5, description="CPT or HCPCS code.")
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: Decimal = Field(default=Decimal(1), gt=0, max_digits=7, decimal_places=3)
    charge: Money = Field(ge=0)
    date_of_service: date
    diagnosis_pointers: list[int] = Field(default_factory=lambda: [1], min_length=1, max_length=4)


class ClaimData(Strict):
    """Everything the 837P needs; stored as the claim's content."""

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
    diagnoses: list[str] = Field(min_length=1, max_length=12, description="ICD-10-CM, principal first.")
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    prior_authorization_number: str | None = Field(default=None, max_length=50)
    frequency_code: Literal["1", "7", "8"] = "1"
    original_payer_claim_control_number: str | None = Field(default=None, max_length=50)
    other_coverages: list[OtherCoverage] = Field(default_factory=list, max_length=2)

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))

    @property
    def first_date_of_service(self) -> date:
        return min(line.date_of_service for line in self.lines)


class ClaimPatch(Strict):
    """Fields a draft or rejected claim may change; what is sent replaces what was there."""

    patient: PersonIn | None = None
    subscriber: SubscriberIn | None = None
    relationship_code: str | None = Field(default=None, pattern=r"^\d{2}$")
    payer_id: Ident | None = None
    billing_provider: ProviderIn | None = None
    rendering_provider: ProviderIn | None = None
    place_of_service: str | None = Field(default=None, pattern=r"^\d{2}$")
    diagnoses: list[str] | None = Field(default=None, min_length=1, max_length=12)
    lines: list[LineIn] | None = Field(default=None, min_length=1, max_length=50)
    prior_authorization_number: str | None = Field(default=None, max_length=50)
    other_coverages: list[OtherCoverage] | None = Field(default=None, max_length=2)


# --- strict checks ------------------------------------------------------------------------


def strict_errors(data: ClaimData) -> list[FieldError]:
    """Rules a claim posted by a person must meet before anything is stored."""
    errors: list[FieldError] = []
    if data.payer_id not in reference.payers():
        errors.append(FieldError(field="body.payer_id", rule="unknown_payer", message="Unknown payer id."))
    for other_index, other in enumerate(data.other_coverages):
        if other.payer_id not in reference.payers():
            errors.append(
                FieldError(
                    field=f"body.other_coverages.{other_index}.payer_id",
                    rule="unknown_payer",
                    message="Unknown payer id.",
                )
            )
    providers = [("billing_provider", data.billing_provider), ("rendering_provider", data.rendering_provider)]
    for name, provider in providers:
        if provider is not None and not npi_is_valid(provider.npi):
            errors.append(
                FieldError(
                    field=f"body.{name}.npi",
                    rule="npi_check_digit",
                    message="The NPI's check digit is wrong; re-enter it from NPPES.",
                )
            )
    for line_index, line in enumerate(data.lines):
        for pointer_index, pointer in enumerate(line.diagnosis_pointers):
            if not 1 <= pointer <= len(data.diagnoses):
                errors.append(
                    FieldError(
                        field=f"body.lines.{line_index}.diagnosis_pointers.{pointer_index}",
                        rule="pointer_to_missing_diagnosis",
                        message=f"Points at diagnosis {pointer}; the claim has {len(data.diagnoses)}.",
                    )
                )
    if data.frequency_code in ("7", "8") and not data.original_payer_claim_control_number:
        errors.append(
            FieldError(
                field="body.original_payer_claim_control_number",
                rule="missing",
                message="A replacement (7) or void (8) needs the original claim's payer control number.",
            )
        )
    if data.subscriber is None:
        errors.append(
            FieldError(field="body.subscriber", rule="missing", message="The subscriber and member id.")
        )
    if data.patient is None and data.relationship_code != "18":
        errors.append(
            FieldError(
                field="body.patient",
                rule="missing",
                message="The patient's demographics (the patient is not the subscriber).",
            )
        )
    return errors
