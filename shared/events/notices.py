"""Payloads of the account cycle (published by payments): statements, installments, late
payments, collections referrals, the one notice a patient gets per account per cycle, and an
account recalled from the collections agency. Beside payloads.py (which they build on) because
one module for every event would pass the house's length limit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events.payloads import Id, Money, Payload

NOTICE = "The account_notice.issued that carries this to the patient (who hears it from that one)."

PartKind = Literal[
    "statement",
    "past_due_statement",
    "installment_late",
    "installment_due",
    "final_notice",
    "sent_to_collections",
]


class NoticePart(Payload):
    """One thing the cycle tells the patient; which fields are set depends on `kind`."""

    kind: PartKind = Field(
        description="statement: a new statement; past_due_statement: a new statement for a balance "
        "past due; installment_late / installment_due: a payment plan's installment; final_notice: "
        "the last notice before collections; sent_to_collections: the referral."
    )
    amount: Money = Field(description="What this part is about: the balance, or the installment.")
    due_date: date | None = Field(default=None, description="When it is (or was) due.")
    statement_id: UUID | None = None
    plan_id: UUID | None = None
    installment_number: int | None = Field(default=None, ge=1)
    days_late: int | None = Field(default=None, ge=1)
    agency: str | None = Field(default=None, description="The collections agency (final notice, referral).")
    collections_on: date | None = Field(
        default=None, description="Final notice: the first day the account may be referred."
    )
    step: int | None = Field(default=None, ge=1, description="The dunning step it is, when it is one.")


class AccountNoticeIssued(Payload):
    """Everything one cycle tells a patient about an account, in order, as one notice."""

    notice_id: UUID
    account_id: Id
    cycle_date: date = Field(description="The date the cycle ran as.")
    balance: Money = Field(description="What the patient owes on the account now.")
    parts: list[NoticePart] = Field(min_length=1)
    issued_at: datetime


class AccountRecalled(Payload):
    """An account referred to collections is taken back: the patient or an insurer paid, or the
    patient disputes the balance. The agency stops working it."""

    account_id: Id
    agency: str
    referred_at: datetime
    reason: Literal["patient_payment", "insurance_payment", "dispute"]
    amount: Money | None = Field(default=None, description="The payment that recalled it, if one did.")
    balance: Money = Field(description="What the patient owes after it.")
    recalled_at: datetime


class StatementIssued(Payload):
    statement_id: UUID
    account_id: Id
    balance: Money
    due_date: date
    issued_at: datetime
    notice_id: UUID | None = Field(default=None, description=NOTICE)


class InstallmentDue(Payload):
    plan_id: UUID
    account_id: Id
    installment_number: int = Field(ge=1)
    amount: Money
    due_date: date
    notice_id: UUID | None = Field(default=None, description=NOTICE)


class PaymentLate(Payload):
    """A missed installment (plan_id set) or a balance past due (no plan)."""

    plan_id: UUID | None = None
    account_id: Id
    installment_number: int | None = Field(default=None, ge=1)
    amount: Money
    due_date: date
    days_late: int = Field(ge=1)
    notice_id: UUID | None = Field(default=None, description=NOTICE)


class AccountSentToCollections(Payload):
    account_id: Id
    agency: str
    balance: Money
    referred_at: datetime
    notice_id: UUID | None = Field(default=None, description=NOTICE)
