"""The payloads of every event: small immutable records, one class per event type, and the
value types they share. `shared.events.catalogue` says which topic each travels on."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events.base import Id, Money, Payload
from shared.events.encounters import Address, Coverage, EncounterCompleted, EncounterLine, Person
from shared.events.institutional import ClaimType, InpatientAdjudication, OutpatientAdjudication, RevenueCode

# On payments' per-event notices of a cycle: the one account_notice.issued that told the patient.


# --- eligibility -------------------------------------------------------------------------


class OtherPayer(Payload):
    payer_id: Id
    order: Literal["primary", "secondary", "tertiary"] = Field(
        description="This payer's place in coordination of benefits."
    )
    member_id: str | None = Field(  # PHI, for the claims service: it bills that payer with it
        default=None, pattern=r"^[A-Za-z0-9\-]{2,80}$", description="Its member id (271 2110C REF*1W)."
    )


class BenefitSummary(Payload):
    """What a service type costs the patient, as the 271 reported it (in network unless said)."""

    service_type_code: str = Field(min_length=1, max_length=2)
    in_network: bool = True
    copay: Money | None = None
    coinsurance_percent: Decimal | None = Field(default=None, ge=0, le=100)
    deductible_remaining: Money | None = None
    out_of_pocket_remaining: Money | None = None
    prior_auth_required: bool = False
    copay_per: Literal["visit", "admission", "day", "episode"] | None = Field(
        default=None, description="What the copay is charged per (271 EB06 27, 36, 7, 26), when said."
    )
    deductible_per_admission: Money | None = Field(
        default=None, description="A deductible per admission (EB01=C, EB06=36), apart from the year's."
    )


class EligibilityChecked(Payload):
    """A coverage check finished (verified, inactive, or failed with a reason)."""

    check_id: UUID
    patient_id: Id
    payer_id: Id
    status: Literal["active", "inactive", "error"]
    date_of_service: date
    service_type_codes: list[str] = Field(default_factory=list)
    coverage_start: date | None = None
    coverage_end: date | None = None
    prior_auth_required_service_types: list[str] = Field(default_factory=list)
    error_code: str | None = Field(default=None, description="AAA reject reason code when status is error.")
    checked_at: datetime
    other_payers: list[OtherPayer] = Field(
        default_factory=list, description="Other coverage on file, with its COB order."
    )
    benefits: list[BenefitSummary] = Field(default_factory=list)


class AuthorizationRecorded(Payload):
    """A referral or prior authorization is on file, or it changed (extended, visits used).

    Each event carries the authorization's whole current state; a later one for the same
    authorization_id replaces an earlier one (they share the patient's key, so arrive in order)."""

    authorization_id: UUID
    patient_id: Id
    payer_id: Id
    number: str = Field(min_length=1, max_length=50)
    kind: Literal["prior_authorization", "referral"] = "prior_authorization"
    service_codes: list[str] = Field(default_factory=list)
    start_date: date
    end_date: date
    visits_allowed: int | None = Field(default=None, ge=0)
    visits_used: int = Field(default=0, ge=0)
    service_type_codes: list[str] = Field(
        default_factory=list,
        description="X12 service types it covers (271 EB03, e.g. PT), besides its service_codes; "
        "neither list: any service.",
    )


class AuthorizationExpiring(Payload):
    """An authorization ends soon or is running out of visits."""

    authorization_id: UUID
    patient_id: Id
    payer_id: Id
    end_date: date
    days_left: int
    visits_left: int | None = None


# --- claims ------------------------------------------------------------------------------


class ClaimLineSummary(Payload):
    line_number: int = Field(ge=1)
    code: str | None = Field(
        default=None,
        min_length=5,
        max_length=5,
        description="CPT/HCPCS; institutional lines may lack it.",
    )
    revenue_code: RevenueCode | None = Field(default=None, description="Institutional lines.")
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: Decimal = Field(default=Decimal(1), gt=0)
    charge: Money
    date_of_service: date
    prior_authorization_number: str | None = Field(
        default=None,
        max_length=50,
        description="The prior authorization sent for this line (837P REF*G1, loop 2400 or 2300).",
    )


class ClaimSubmitted(Payload):
    """A claim went out to the clearinghouse; the 837P or 837I travels with it."""

    claim_id: UUID
    patient_control_number: str = Field(min_length=1, max_length=17)
    patient_id: Id
    payer_id: Id
    frequency_code: Literal["1", "2", "3", "4", "7", "8"] = Field(
        default="1",
        description="CLM05-3: 1 original; 7 replacement, 8 void; 2-4 interim bills (institutional only).",
    )
    total_charge: Money
    x12_837: str = Field(
        min_length=1, description="The X12 interchange: 005010X222A2 837P or 005010X223A2 837I (ST03 says)."
    )
    claim_type: ClaimType = "professional"
    submitted_at: datetime
    coverage_order: Literal["primary", "secondary", "tertiary"] = "primary"
    account_id: Id | None = Field(default=None, description="The patient's account; patient_id when absent.")
    date_of_service: date | None = Field(default=None, description="Earliest date of service on the claim.")
    lines: list[ClaimLineSummary] = Field(
        default_factory=list, description="Charges, for the patient account."
    )
    original_payer_claim_control_number: str | None = Field(
        default=None, description="For frequency 7 and 8: the payer's number of the claim replaced or voided."
    )
    first_claim_id: UUID | None = Field(
        default=None,
        description="For frequency 7 and 8: the first claim of the chain it replaces or voids (the "
        "visit they all bill); absent for an original claim, which is its own first claim.",
    )
    primary_claim_id: UUID | None = Field(default=None, description="The prior payer's claim it bills after.")


class Adjustment(Payload):
    group_code: Literal["CO", "PR", "OA", "PI", "CR"]
    reason_code: str = Field(min_length=1, max_length=5)
    amount: Money


DenialAction = Literal["correct_and_resubmit", "appeal", "bill_patient", "write_off", "bill_other_payer"]


class ClaimDenied(Payload):
    """A payer denied all or part of a claim; someone has to work it."""

    claim_id: UUID
    payer_id: Id
    patient_id: Id
    adjustments: list[Adjustment] = Field(min_length=1)
    remark_codes: list[str] = Field(
        default_factory=list,
        description="RARCs of the adjudication: the claim's (MOA/MIA) first, then its lines' (LQ*HE).",
    )
    action: DenialAction = Field(
        description="Recommended from the group code, CARC and RARC; bill_patient only for PR (patient "
        "responsibility), write_off only for CO, bill_other_payer when another payer is liable."
    )
    denied_at: datetime
    patient_control_number: str | None = None
    payer_claim_control_number: str | None = None
    denied_amount: Money | None = None
    why: str | None = Field(
        default=None, max_length=500, description="Why that action, naming the codes that decided it."
    )


class ClaimFollowupDue(Payload):
    """No answer from the payer inside its window."""

    claim_id: UUID
    payer_id: Id
    submitted_at: datetime
    days_outstanding: int = Field(ge=0)
    due_at: datetime


# --- payments ----------------------------------------------------------------------------


class AdjudicatedLine(Payload):
    """One service line as the payer adjudicated it (835 loop 2110: SVC, its CAS, REF*6R), for
    the next payer's claim (837P loop 2430)."""

    line_item_control_number: str | None = Field(default=None, max_length=50, description="REF*6R if echoed")
    procedure_qualifier: str = Field(default="HC", min_length=2, max_length=2, description="SVC01-1.")
    code: str = Field(min_length=1, max_length=48, description="SVC01-2: the procedure as adjudicated.")
    modifiers: list[str] = Field(default_factory=list, max_length=4, description="SVC01-3..6.")
    charge: Money = Field(description="SVC02: the line charge.")
    paid: Money = Field(description="SVC03: what the payer paid for the line.")
    units: Decimal | None = Field(default=None, description="SVC05: units paid (1 when absent).")
    allowed: Money | None = Field(default=None, description="AMT*B6.")
    adjustments: list[Adjustment] = Field(default_factory=list, description="The line's CAS.")
    service_date: date | None = Field(default=None, description="DTM*472.")
    revenue_code: RevenueCode | None = Field(
        default=None, description="Institutional: SVC01-2 of an NU line, else SVC04 (NUBC revenue code)."
    )
    line_number: int | None = Field(
        default=None,
        ge=1,
        description="The claim's line (ClaimLineSummary.line_number) this 835 line answers, as payments "
        "placed it: REF*6R when echoed, else revenue code + HCPCS + date of service; absent when unplaced.",
    )


class PaymentPosted(Payload):
    """Money was posted: an insurer payment to a claim, or a patient payment to an account."""

    payment_id: UUID
    source: Literal["insurer", "patient"]
    claim_id: UUID | None = None
    account_id: Id | None = None
    amount: Money
    method: Literal["eft", "check", "card", "cash", "ach", "other"]
    posted_at: datetime
    receipt_number: str | None = None
    # Insurer postings carry the claim's adjudication from the 835 (CLP/CAS/SVC):
    payer_id: Id | None = None
    patient_control_number: str | None = Field(default=None, max_length=17)
    payer_claim_control_number: str | None = None
    claim_status_code: str | None = Field(
        default=None,
        description="CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 22 reversal.",
    )
    charge: Money | None = None
    allowed: Money | None = None
    patient_responsibility: Money | None = None
    adjustments: list[Adjustment] = Field(default_factory=list, description="All CAS by group+reason.")
    remark_codes: list[str] = Field(
        default_factory=list, description="The claim's RARCs: 835 loop 2100 MOA03-07, MIA05 and MIA20-23."
    )
    trace_number: str | None = Field(default=None, description="TRN02 of the remittance.")
    line_remark_codes: list[str] = Field(
        default_factory=list,
        description="The service lines' RARCs (835 loop 2110 LQ*HE), in line order, each once.",
    )
    # The 835 as it was, for the next payer's claim (837P 2320 claim-level CAS, 2430 per line):
    claim_adjustments: list[Adjustment] = Field(default_factory=list, description="Claim-level CAS only.")
    lines: list[AdjudicatedLine] = Field(default_factory=list, description="835 loop 2110 (SVC), if any.")
    remittance_date: date | None = Field(default=None, description="BPR16: the check or EFT date.")
    reverses_payment_id: UUID | None = Field(default=None, description="CLP02 22: the payment it reverses.")
    # Institutional claims (835 CLP08/CLP11/CLP12, MIA or MOA), for reports and the next payer's 837I 2320:
    claim_type: ClaimType = "professional"
    drg_code: str | None = Field(default=None, description="CLP11: the DRG the payer priced the stay by.")
    drg_weight: Decimal | None = Field(default=None, description="CLP12: that DRG's weight.")
    inpatient: InpatientAdjudication | None = Field(default=None, description="MIA, inpatient claims.")
    outpatient: OutpatientAdjudication | None = Field(default=None, description="MOA, outpatient claims.")


class PaymentUnderpaid(Payload):
    """An insurer paid less than the contract allows, beyond tolerance."""

    claim_id: UUID
    payer_id: Id
    code: str
    expected_allowed: Money
    actual_allowed: Money
    variance: Money
    detected_at: datetime


class FeeScheduleEntry(Payload):
    code: str = Field(min_length=5, max_length=5)
    modifier: str | None = Field(default=None, min_length=2, max_length=2)
    allowed: Money


class FeeScheduleUpdated(Payload):
    """A payer's contracted allowed amounts changed; estimates use them."""

    payer_id: Id
    fee_schedule_id: UUID
    effective_date: date
    entries: list[FeeScheduleEntry]
    version: int | None = Field(
        default=None, ge=1, description="The payer's version number of this upload (1, 2, ...)."
    )
    uploaded_at: datetime | None = Field(
        default=None,
        description="When this version was uploaded; among versions with the same effective date "
        "the latest upload applies.",
    )


# --- notifications -----------------------------------------------------------------------


class NotificationSent(Payload):
    notification_id: UUID
    recipient_id: Id
    channel: Literal["email", "sms", "inbox"]
    template: str
    template_version: int = Field(ge=1)
    cause_event_id: UUID | None = None
    sent_at: datetime


class NotificationFailed(Payload):
    notification_id: UUID
    recipient_id: Id
    channel: Literal["email", "sms", "inbox"]
    template: str
    reason: str = Field(max_length=200)
    attempts: int = Field(ge=1)
    failed_at: datetime


# Re-exported: the EHR's payloads moved to shared/events/encounters.py.
__all__ = [
    "Address",
    "Coverage",
    "EncounterCompleted",
    "EncounterLine",
    "Person",
]
