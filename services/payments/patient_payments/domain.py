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


def settlement_batch(method: str, given: str | None, now: datetime) -> str | None:
    """The card processor's settlement batch a card payment goes out in: the batch id the
    terminal or gateway reported, else the day's batch (YYYYMMDD, UTC), for a processor that
    closes one batch a day. Not a card payment: no batch. Bank deposits of card settlements
    are matched by this id (reconciliation)."""
    if method != "card":
        return None
    return given or f"{now:%Y%m%d}"


def receipt_number(now: datetime) -> str:
    """A short, unguessable receipt number dated by the posting day."""
    return f"R-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"
