"""Rules of patient payments without I/O: what a refund takes back first, receipt numbers.
(How an amount spreads over open items is `accounts.domain.spread`.)"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from decimal import Decimal

ZERO = Decimal("0.00")
Split = list[tuple[uuid.UUID | None, Decimal]]  # (item or None = unapplied, amount)


def refund_order(applied: Split) -> Split:
    """What a refund takes back first: unapplied credit, then the items most recently paid
    (`applied` is newest first; they owe again)."""
    return sorted(applied, key=lambda x: x[0] is not None)


def receipt_number(now: datetime) -> str:
    """A short, unguessable receipt number dated by the posting day."""
    return f"R-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"
