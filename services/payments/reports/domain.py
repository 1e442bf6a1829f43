"""Report rules without I/O: which adjustments are contractual, and the net collection rate:

    net collection rate = (insurance payments + patient payments - refunds)
                          / (charges - contractual adjustments)

Contractual adjustments are the payer's contract write-downs (CO-45, CO-253); denials are
not, so money lost to denials lowers the rate, as it should."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.payments.accounts.domain import AGING_BUCKETS

CONTRACTUAL = ("45", "253")


def net_collection_rate(
    *, charges: Decimal, contractual: Decimal, insurance: Decimal, patient: Decimal, refunds: Decimal
) -> float | None:
    """Collected over collectible, to 4 places; None while nothing is collectible."""
    collectible = charges - contractual
    collected = insurance + patient - refunds
    return round(float(collected / collectible), 4) if collectible > 0 else None


BUCKETS = tuple(name for name, _, _ in AGING_BUCKETS)


def bucket_of(as_of: date, service_date: date | None) -> str:
    """The aging bucket of a claim on `as_of`, by days since its date of service (the buckets of
    the account view and of claims' A/R aging)."""
    age = (as_of - service_date).days if service_date else 0
    for name, low, high in AGING_BUCKETS:
        if low <= age and (high is None or age <= high):
            return name
    return BUCKETS[0]
