"""Payloads of the front office (issue 19): the patient and coverage registry, the 271
discrepancies eligibility finds against it, billing inquiries (tickets) and the holds they put
on an account, financial assistance and financing referrals.

The registry is the one place demographics and coverages are typed. `patient.updated` and
`coverage.updated` carry the whole current record (a snapshot with a per-patient `revision`,
not a diff), so a consumer keeps its own copy by keeping the highest revision it has seen: a
redelivered or reordered event can never roll a copy back. They are PHI and go only to the
services that bill, check or send statements with them (claims, eligibility, payments).

Ticket, hold and assistance events carry ids, codes and dates only: the notification texts
they cause say what the recipient needs ("your inquiry T-000123 is resolved"), never a name,
a diagnosis or an amount owed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from shared.events.payloads import Address, Id, Money, Payload

CoverageOrder = Literal["primary", "secondary", "tertiary"]
TicketCategory = Literal[
    "balance_question",
    "insurance_question",
    "dispute",
    "complaint",
    "payment_arrangement",
    "financial_assistance",
]
HoldReason = Literal["dispute", "financial_assistance", "financing"]
# A person who acted (the token's subject): staff ids of an identity provider are often e-mail
# addresses, so wider than Id; no spaces or control characters. Staff, not patients: not PHI.
Actor = Annotated[str, Field(min_length=1, max_length=254, pattern=r"^[^\s\x00-\x1f\x7f]+$")]


# --- the registry ----------------------------------------------------------------------------


class Demographics(Payload):
    """Who the patient (or the guarantor, or a subscriber) is. PHI."""

    first_name: str = Field(min_length=1, max_length=35)
    middle_name: str | None = Field(default=None, max_length=25)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date
    sex: Literal["F", "M", "U"] = Field(default="U", description="X12 1068 gender code (DMG03).")
    address: Address | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{10,15}$")
    email: str | None = Field(default=None, max_length=254)


class Guarantor(Payload):
    """Who answers for the bill: the patient themself, or another person (a parent, a spouse)."""

    relationship_code: str = Field(
        default="18",
        pattern=r"^[0-9A-Z]{2}$",
        description="X12 1069, to the patient: 18 self, 01 spouse, 19 child.",
    )
    person: Demographics | None = Field(default=None, description="Absent when the patient is the guarantor.")


class PatientUpdated(Payload):
    """A patient's demographics or guarantor changed (or the patient was registered)."""

    patient_id: Id
    revision: int = Field(ge=1, description="Per patient, grows with every change; keep the highest.")
    patient: Demographics
    guarantor: Guarantor = Field(default_factory=Guarantor)
    changed_fields: list[str] = Field(
        default_factory=list, description="Field names that changed (e.g. 'address'); empty on registration."
    )
    reason: str = Field(min_length=1, max_length=40, description="Why, as a code: registration, moved…")
    changed_by: Actor
    changed_at: datetime


class RegisteredCoverage(Payload):
    """One coverage on file, in its coordination-of-benefits order. PHI (member id)."""

    coverage_id: UUID
    order: CoverageOrder
    payer_id: Id
    plan: str | None = Field(default=None, max_length=60)
    member_id: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9\-]+$")
    group_number: str | None = Field(default=None, max_length=50)
    relationship_code: str = Field(
        default="18", pattern=r"^[0-9A-Z]{2}$", description="Patient to subscriber (X12 1069): 18 self."
    )
    subscriber: Demographics | None = Field(default=None, description="When not the patient.")
    effective_date: date
    termination_date: date | None = None

    def in_force_on(self, day: date) -> bool:
        """Whether this coverage is in force on `day` (see `in_force_on`)."""
        return in_force_on(self.effective_date, self.termination_date, day)


def in_force_on(effective: date, termination: date | None, day: date) -> bool:
    """Whether a coverage effective..termination holds `day`: both ends included, no termination
    date meaning open-ended. The one reading of the registry's coverage dates, for every copy
    (also one kept as JSON)."""
    return effective <= day and (termination is None or day <= termination)


class CoverageChange(Payload):
    """What happened to one coverage in this revision, so claims can flag the claims it touches."""

    coverage_id: UUID
    payer_id: Id
    kind: Literal["added", "member_id_corrected", "terminated", "reordered", "updated", "removed"]
    retroactive: bool = Field(
        default=False,
        description="A termination dated before the change (claims after it went to the wrong payer).",
    )
    termination_date: date | None = None


class CoverageUpdated(Payload):
    """A patient's coverages changed: the whole current list, in order, and what changed."""

    patient_id: Id
    revision: int = Field(ge=1, description="Per patient (shared with patient.updated); keep the highest.")
    coverages: list[RegisteredCoverage] = Field(default_factory=list, max_length=10)
    changes: list[CoverageChange] = Field(default_factory=list)
    reason: str = Field(min_length=1, max_length=40)
    changed_by: Actor
    changed_at: datetime


class DiscrepancyField(Payload):
    """One thing a payer's 271 says differently from the registry. PHI (both values)."""

    field: Literal["first_name", "last_name", "birth_date", "sex", "address", "member_id", "other_payer"]
    registry_value: str | None = Field(default=None, max_length=200)
    payer_value: str | None = Field(default=None, max_length=200)
    coverage_id: UUID | None = Field(default=None, description="The coverage it concerns (member id).")
    payer_id: Id | None = Field(default=None, description="other_payer: the payer the 271 names.")


class DiscrepancyFound(Payload):
    """Eligibility's 271 disagrees with the registry copy it checked from."""

    check_id: UUID
    patient_id: Id
    payer_id: Id
    registry_revision: int = Field(ge=0, description="The registry revision the check compared against.")
    fields: list[DiscrepancyField] = Field(min_length=1)
    found_at: datetime


# --- tickets and holds -----------------------------------------------------------------------


class TicketAssigned(Payload):
    """A ticket was assigned (or reassigned): the assignee hears of it."""

    ticket_id: UUID
    number: str = Field(min_length=1, max_length=20, description="What staff and patients quote: T-000123.")
    category: TicketCategory
    assignee_id: Id
    assigned_by: Actor
    due_at: datetime
    assigned_at: datetime


class TicketEscalated(Payload):
    """A ticket passed its service level's due time without being resolved."""

    ticket_id: UUID
    number: str = Field(min_length=1, max_length=20)
    category: TicketCategory
    assignee_id: Id | None = None
    escalated_to: Id = Field(description="Who now answers for it (the category's escalation contact).")
    level: int = Field(ge=1)
    due_at: datetime
    breached_at: datetime


class TicketResolved(Payload):
    """A ticket was resolved with a code; the requester is told, without PHI."""

    ticket_id: UUID
    number: str = Field(min_length=1, max_length=20)
    category: TicketCategory
    requester_kind: Literal["patient", "practice"]
    requester_id: Id
    account_id: Id | None = None
    patient_id: Id | None = None
    channel: Literal["phone", "email", "portal"]
    resolution_code: str = Field(min_length=1, max_length=40)
    resolved_at: datetime


class AccountHoldPlaced(Payload):
    """Keep the account out of statements and/or collections (FDCPA: a disputed balance is not
    collected until answered; an open assistance application is not sent to an agency)."""

    hold_id: UUID
    account_id: Id
    patient_id: Id | None = None
    reason: HoldReason
    source_id: UUID = Field(description="The ticket or application that holds it.")
    holds_statements: bool
    holds_collections: bool = True
    placed_at: datetime


class AccountHoldReleased(Payload):
    """The hold ends: the account continues its cycle."""

    hold_id: UUID
    account_id: Id
    reason: HoldReason
    source_id: UUID
    outcome: str = Field(min_length=1, max_length=40, description="The resolution code or the decision.")
    released_at: datetime


# --- financial assistance and financing ------------------------------------------------------


class FinancialAssistanceApproved(Payload):
    """An application was approved by two people: payments adjusts the account's patient
    balance by the discount (a ledger adjustment, reason financial assistance)."""

    application_id: UUID
    account_id: Id
    patient_id: Id
    tier: str = Field(min_length=1, max_length=40)
    discount_percent: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2)
    poverty_percent: Decimal = Field(
        ge=0, max_digits=7, decimal_places=2, description="Income, % of the FPG."
    )
    guidelines_year: int = Field(ge=2000, le=2100)
    decided_by: Actor
    approved_by: Actor = Field(description="The second person, never the one who decided.")
    decided_at: datetime


class FinancingReferred(Payload):
    """The patient asked for healthcare credit: the financing partner takes the referral and
    the account records that the balance is being financed."""

    referral_id: UUID
    account_id: Id
    patient_id: Id
    partner_id: Id
    amount: Money = Field(gt=0, description="The balance to finance, as staff confirmed it with the patient.")
    referred_by: Actor
    referred_at: datetime
