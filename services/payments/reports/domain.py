"""Report rules without I/O: which adjustments are contractual, the net collection rate,
and a report's date range.

    net collection rate = (insurance payments + patient payments - refunds)
                          / (charges - contractual adjustments)

Contractual adjustments are the payer's contract write-downs (CO-45, CO-253); denials are
not, so money lost to denials lowers the rate, as it should."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.problems import FieldError, ProblemError

CONTRACTUAL = ("45", "253")


def net_collection_rate(
    *, charges: Decimal, contractual: Decimal, insurance: Decimal, patient: Decimal, refunds: Decimal
) -> float | None:
    """Collected over collectible, to 4 places; None while nothing is collectible."""
    collectible = charges - contractual
    collected = insurance + patient - refunds
    return round(float(collected / collectible), 4) if collectible > 0 else None


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
