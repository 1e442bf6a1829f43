"""How a deposit ties to postings, without I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from services.payments.reconciliation.schemas import Deposit
from shared.paging import DateRange
from shared.problems import invalid


def deposit(row: Any) -> Deposit:
    """posted = matched claim payments - provider-level adjustments; the difference
    deposit - posted - unmatched is zero for every accepted 835."""
    posted = Decimal(row.claims_posted) - Decimal(row.provider_adjustments)
    return Deposit(
        remittance_id=str(row.id),
        payer_id=row.payer_id,
        trace_number=row.trace_number,
        paid_date=row.paid_date,
        method=row.method,
        deposit=row.deposit,
        posted=posted,
        unmatched=row.unmatched,
        difference=Decimal(row.deposit) - posted - Decimal(row.unmatched),
    )


def required(dates: DateRange) -> tuple[date, date]:
    """The reconciliation needs both ends of its range (a 422 naming each missing one)."""
    missing = [
        (f"query.{name}", "missing", "Give the first and last paid date of the range.")
        for name in ("date_from", "date_to")
        if getattr(dates, name) is None
    ]
    if missing:
        raise invalid(*missing)
    assert dates.date_from is not None and dates.date_to is not None
    return dates.date_from, dates.date_to
