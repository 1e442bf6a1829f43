"""Report rules without I/O: which adjustments are contractual, and the net collection rate:

    net collection rate = (insurance payments + patient payments - refunds)
                          / (charges - contractual adjustments)

Contractual adjustments are the payer's contract write-downs (CO-45, CO-253); denials are
not, so money lost to denials lowers the rate, as it should."""

from __future__ import annotations

from decimal import Decimal

CONTRACTUAL = ("45", "253")


def net_collection_rate(
    *, charges: Decimal, contractual: Decimal, insurance: Decimal, patient: Decimal, refunds: Decimal
) -> float | None:
    """Collected over collectible, to 4 places; None while nothing is collectible."""
    collectible = charges - contractual
    collected = insurance + patient - refunds
    return round(float(collected / collectible), 4) if collectible > 0 else None
