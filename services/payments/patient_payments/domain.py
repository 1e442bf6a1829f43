"""Rules of patient payments without I/O: what a refund takes back first, what credit covers
what it re-opens, receipt numbers. (How an amount spreads over open items is
`accounts.domain.spread`.)"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from decimal import Decimal

from services.payments.accounts.domain import Entry

ZERO = Decimal("0.00")
Split = list[tuple[uuid.UUID | None, Decimal]]  # (item or None = unapplied, amount)


def refund_order(applied: Split) -> Split:
    """What a refund takes back first: unapplied credit, then the items most recently paid
    (`applied` is newest first; they owe again)."""
    return sorted(applied, key=lambda x: x[0] is not None)


def cover(
    reopened: Split, sources: list[tuple[uuid.UUID | None, Decimal]]
) -> list[tuple[uuid.UUID | None, uuid.UUID, Decimal]]:
    """(source payment, item, amount): the account's credit, oldest source first, paying the
    items a refund re-opened, as far as it goes."""
    left = dict(sources)
    moves: list[tuple[uuid.UUID | None, uuid.UUID, Decimal]] = []
    for item, owed in reopened:
        for source, credit in left.items():
            take = min(owed, credit)
            if item is None or take <= 0:
                continue
            moves.append((source, item, take))
            left[source] = credit - take
            owed -= take
    return moves


def credit_cover_entries(
    account_id: str, refund_id: uuid.UUID, moves: list[tuple[uuid.UUID | None, uuid.UUID, Decimal]]
) -> list[Entry]:
    """Two rows per move: the credit leaves unapplied money and pays the item, both under the
    payment it came from (so each payment's receipt still adds up) and the refund that caused it."""
    entries: list[Entry] = []
    for source, item, amount in moves:
        for to, signed in ((None, amount), (item, -amount)):
            entries.append(
                Entry(
                    account_id=account_id,
                    entry_type="payment",
                    amount=signed,
                    bucket="patient",
                    item_id=to,
                    payment_id=source,
                    refund_id=refund_id,
                    description="Credit on account applied (covers a refund)",
                )
            )
    return entries


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
