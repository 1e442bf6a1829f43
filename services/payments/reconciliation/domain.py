"""How a deposit ties to postings, without I/O."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.payments.reconciliation.schemas import Deposit


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
