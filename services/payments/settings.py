"""Payments-only settings (environment prefix PAYMENTS_), apart from the shared ones."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PaymentsSettings(BaseSettings):
    """The practice's money policies; each has a safe default and an env variable."""

    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", extra="ignore")

    # Underpayment: flagged when the allowed amount is below contract by more than
    # max(absolute, percent of the contracted amount).
    underpayment_tolerance_amount: Decimal = Decimal("1.00")
    underpayment_tolerance_percent: Decimal = Decimal("2")
    # Statements: days from the statement date to the due date.
    statement_due_days: int = Field(default=30, ge=1)
    # Payment plans: how many days ahead an installment reminder goes out.
    installment_reminder_days: int = Field(default=7, ge=0)
    # A payment plan breaks (and the account gets the final notice) at N missed installments
    # or one D days past due, whichever comes first.
    collections_missed_installments: int = Field(default=3, ge=1)
    collections_days_past_due: int = Field(default=120, ge=1)
    collections_agency: str = "Default Collections Agency"
    # The dunning sequence of an account that keeps owing: statements this many days after the
    # first (one at 0 starts it), a final notice this many days after the last statement, and
    # collections this many days after the final notice. One step per cycle, each recorded.
    dunning_statement_days: list[int] = Field(default=[0, 30, 60, 90], min_length=1)
    dunning_final_notice_days: int = Field(default=30, ge=1)
    dunning_waiting_days: int = Field(default=30, ge=1)
    # Who the statement is from and how to pay it.
    practice_name: str = "Sandbox Family Practice"
    practice_address: str = "100 Main Street, Springfield, IL 62701"
    practice_phone: str = "(555) 555-0100"
    remit_to_name: str = "Sandbox Family Practice Patient Payments"
    remit_to_address: str = "PO Box 1000, Springfield, IL 62705"
    payment_portal_url: str = "https://pay.practice.example"
    billing_phone: str = "(555) 555-0199"
    # Money limits (issue 17, OWASP API6): the defaults of the practice's limits until a payments
    # admin first changes them (PUT /v1/money-limits keeps them in the database from then on).
    # The largest amount of each kind payments accepts; more is a 422 naming the field and rule.
    max_patient_payment: Decimal = Field(default=Decimal("50000.00"), gt=0)
    max_insurer_payment: Decimal = Field(default=Decimal("10000000.00"), gt=0)  # 835 BPR02, deposits
    max_refund: Decimal = Field(default=Decimal("50000.00"), gt=0)
    max_write_off: Decimal = Field(default=Decimal("100000.00"), gt=0)  # write-offs and adjustments
    # Manual adjustments and write-offs above this amount wait for a second person's approval
    # (POST /v1/accounts/{id}/adjustments answers 202 and /v1/approvals/{id} runs it).
    adjustment_approval_threshold: Decimal = Field(default=Decimal("100.00"), ge=0)
    # The background cycle (statements are run by endpoint; plans and late balances by this).
    cycle_every_seconds: float = Field(default=3600.0, gt=0)
    # Remittance intake: a received file nothing processed this long after it was kept (its
    # processing crashed) is processed again; the worker looks this often.
    intake_retry_after_seconds: float = Field(default=300.0, ge=0)
    intake_retry_every_seconds: float = Field(default=60.0, gt=0)
    # Deposits that came before their 835 (or card batch) are matched by a worker this often.
    match_every_seconds: float = Field(default=300.0, gt=0)
    # Parked 835 claims whose claim is on file (the match on arrival missed them) are posted
    # by a sweep this often.
    rematch_every_seconds: float = Field(default=60.0, gt=0)


@lru_cache
def payments_settings() -> PaymentsSettings:
    return PaymentsSettings()
