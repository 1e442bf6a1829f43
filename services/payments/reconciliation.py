"""Reconciliation: deposits (BPR amount and trace number) against what was posted, and the
cash not yet applied (remittance claims still unmatched, patient credit)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import text

from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import FieldError, ProblemError

router = APIRouter(tags=["reconciliation"])
ZERO = Decimal("0.00")


def check_range(date_from: date, date_to: date) -> None:
    """A report's `from`..`to` range must not end before it starts."""
    if date_to < date_from:
        raise ProblemError(
            422,
            "invalid-range",
            "The range ends before it starts",
            errors=[
                FieldError(field="query.to", rule="after_from", message="Use a date on or after `from`.")
            ],
        )


class Deposit(BaseModel):
    remittance_id: str
    payer_id: str
    trace_number: str
    paid_date: date | None
    method: str
    deposit: Decimal = Field(description="BPR02, signed.")
    posted: Decimal = Field(description="Claim payments posted less provider-level adjustments.")
    unmatched: Decimal = Field(description="Claim payments waiting in the unmatched queue.")
    difference: Decimal = Field(description="deposit - posted - unmatched; zero when everything ties.")


class Reconciliation(BaseModel):
    date_from: date
    date_to: date
    deposits: list[Deposit]
    deposit_total: Decimal
    posted_total: Decimal
    unapplied_insurance: Decimal = Field(description="Unmatched remittance claims in the range.")
    unapplied_patient_credit: Decimal = Field(
        description="Patient payments not applied to a charge (all time)."
    )
    difference_total: Decimal


@router.get(
    "/v1/reports/reconciliation",
    response_model=Reconciliation,
    summary="Deposits against postings for a date range (by paid date), and unapplied cash",
)
async def reconciliation(
    session: SessionDep,
    _: Annotated[AuditTrail, audited("reconciliation", "read", require_scopes("payments:read"))],
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
) -> Reconciliation:
    check_range(date_from, date_to)
    rows = (
        await session.execute(
            text(
                "SELECT r.id, r.payer_id, r.trace_number, r.paid_date, r.method, "
                "CASE WHEN r.credit_debit = 'D' THEN -r.amount ELSE r.amount "
                "END AS deposit, r.provider_adjustments, "
                "coalesce((SELECT sum(paid) FROM claim_postings p WHERE "
                "p.remittance_id = r.id), 0) AS claims_posted, "
                "coalesce((SELECT sum(paid) FROM unmatched_claims u WHERE u.remittance_id = r.id "
                "AND u.resolved_at IS NULL), 0) AS unmatched "
                "FROM remittances r WHERE r.paid_date BETWEEN :f AND :t ORDER BY r.paid_date, r.trace_number"
            ),
            {"f": date_from, "t": date_to},
        )
    ).all()
    deposits = []
    for r in rows:
        posted = Decimal(r.claims_posted) - Decimal(r.provider_adjustments)
        deposits.append(
            Deposit(
                remittance_id=str(r.id),
                payer_id=r.payer_id,
                trace_number=r.trace_number,
                paid_date=r.paid_date,
                method=r.method,
                deposit=r.deposit,
                posted=posted,
                unmatched=r.unmatched,
                difference=Decimal(r.deposit) - posted - Decimal(r.unmatched),
            )
        )
    credit = (
        await session.execute(
            text(
                "SELECT coalesce(-sum(amount), 0) FROM ledger_entries WHERE "
                "item_id IS NULL AND entry_type IN ('payment', 'refund')"
            )
        )
    ).scalar_one()
    return Reconciliation(
        date_from=date_from,
        date_to=date_to,
        deposits=deposits,
        deposit_total=sum((d.deposit for d in deposits), ZERO),
        posted_total=sum((d.posted for d in deposits), ZERO),
        unapplied_insurance=sum((d.unmatched for d in deposits), ZERO),
        unapplied_patient_credit=Decimal(credit),
        difference_total=sum((d.difference for d in deposits), ZERO),
    )
