"""Net collection rate, from the ledger: what was collected against what was collectible.

    net collection rate = (insurance payments + patient payments - refunds)
                          / (charges - contractual adjustments)

over ledger rows written in a date range. Contractual adjustments are the payer's contract
write-downs (CO-45, CO-253); denials are not, so money lost to denials lowers the rate, as it
should. Also the open receivables now, split by who owes them (all sums over the ledger)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import text

from services.payments.reconciliation import check_range
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(tags=["reconciliation"])
CONTRACTUAL = ("45", "253")


class Collections(BaseModel):
    date_from: date
    date_to: date
    charges: Decimal
    contractual_adjustments: Decimal = Field(description="CO-45 and CO-253, as a positive amount.")
    other_adjustments: Decimal = Field(description="Denials and other write-downs, positive.")
    insurance_payments: Decimal
    patient_payments: Decimal
    refunds: Decimal
    transferred_to_patient: Decimal = Field(description="Patient responsibility moved over by 835s.")
    net_collection_rate: float | None = Field(description="None while nothing is collectible.")
    insurance_ar: Decimal = Field(description="Open with payers now (all time).")
    patient_ar: Decimal = Field(description="Owed by patients now, less unapplied credit (all time).")


@router.get(
    "/v1/reports/collections",
    response_model=Collections,
    summary="Charges, payments, adjustments and the net collection rate for a date range",
)
async def collections(
    session: SessionDep,
    _: Annotated[AuditTrail, audited("report", "collections", require_scopes("payments:read"))],
    date_from: Annotated[date | None, Query(alias="from", description="Default: today.")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Default: today.")] = None,
) -> Collections:
    end = date_to or date.today()
    start = date_from or end
    check_range(start, end)
    row = (
        await session.execute(
            text(
                """
                SELECT
                  coalesce(sum(amount) FILTER (WHERE entry_type = 'charge'), 0) AS charges,
                  coalesce(-sum(amount) FILTER (WHERE entry_type = 'adjustment'
                      AND group_code = 'CO' AND reason_code = ANY(:contractual)), 0) AS contractual,
                  coalesce(-sum(amount) FILTER (WHERE entry_type = 'adjustment'
                      AND NOT (coalesce(group_code, '') = 'CO'
                               AND coalesce(reason_code, '') = ANY(:contractual))), 0) AS other,
                  coalesce(-sum(amount) FILTER (WHERE entry_type = 'insurance_payment'), 0) AS insurance,
                  coalesce(-sum(amount) FILTER (WHERE entry_type = 'payment'), 0) AS patient,
                  coalesce(sum(amount) FILTER (WHERE entry_type = 'refund'), 0) AS refunds,
                  coalesce(sum(amount) FILTER (WHERE entry_type = 'transfer' AND bucket = 'patient'), 0)
                      AS transferred
                FROM ledger_entries WHERE occurred_at >= :start AND occurred_at < :end
                """
            ),
            {"start": start, "end": end + timedelta(days=1), "contractual": list(CONTRACTUAL)},
        )
    ).one()
    ar = (
        await session.execute(
            text(
                "SELECT coalesce(sum(amount) FILTER (WHERE bucket = 'insurance'), 0), "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) "
                "FROM ledger_entries"
            )
        )
    ).one()
    collectible = Decimal(row.charges) - Decimal(row.contractual)
    collected = Decimal(row.insurance) + Decimal(row.patient) - Decimal(row.refunds)
    return Collections(
        date_from=start,
        date_to=end,
        charges=row.charges,
        contractual_adjustments=row.contractual,
        other_adjustments=row.other,
        insurance_payments=row.insurance,
        patient_payments=row.patient,
        refunds=row.refunds,
        transferred_to_patient=row.transferred,
        net_collection_rate=round(float(collected / collectible), 4) if collectible > 0 else None,
        insurance_ar=ar[0],
        patient_ar=ar[1],
    )
