"""Money math of patient payments, without I/O: how an amount spreads over open items."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from decimal import Decimal

ZERO = Decimal("0.00")
Split = list[tuple[uuid.UUID | None, Decimal]]


def spread(amount: Decimal, available: Split) -> Split:
    """Take `amount` from each (item, available) in turn until it is used up; a rest that
    fits nowhere comes back last as (None, rest): unapplied."""
    result: Split = []
    left = amount
    for item, most in available:
        if left <= 0:
            break
        take = min(left, most)
        result.append((item, take))
        left -= take
    if left > 0:
        result.append((None, left))
    return result


def refund_order(applied: Split) -> Split:
    """What a refund takes back first: unapplied credit, then the items most recently paid
    (`applied` is newest first; they owe again)."""
    return sorted(applied, key=lambda x: x[0] is not None)


def receipt_number(now: datetime) -> str:
    """A short, unguessable receipt number dated by the posting day."""
    return f"R-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"
