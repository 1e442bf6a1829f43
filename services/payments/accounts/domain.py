"""The ledger's rules, without I/O.

Every amount on an account is a ledger row; nothing else holds a balance. A row says
which party owes it (`bucket`: insurance while a claim is with the payer, patient once
the 835 moves the patient's share over) and which open item it belongs to (`item_id`: the
claim, or a manual charge; NULL for unapplied money). Sums over those two columns give the
balance, the insurance-pending and patient-due amounts, and each item's open balance.
Corrections are new rows, never updates (a trigger and the role's grants forbid them).

Every amount owed sits on an item, so the aging (items by date of service) always adds up to
what it ages: balance = Σ items + unapplied credit + refund due, where the last two are the
rows without an item (payments not yet applied; `refund_due` rows: credit the practice owes
back, which is never spent on new charges).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
K = TypeVar("K")

AGING_BUCKETS = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("120+", 121, None),
)


@dataclass
class Entry:
    """A ledger row to write (the store stamps `occurred_at`)."""

    account_id: str
    entry_type: str  # charge, payment, insurance_payment, adjustment, transfer, refund, refund_due
    amount: Decimal  # positive: owed to the practice; negative: paid or written off
    bucket: str  # insurance | patient
    description: str
    item_id: uuid.UUID | None = None
    claim_id: uuid.UUID | None = None
    posting_id: uuid.UUID | None = None
    payment_id: uuid.UUID | None = None
    refund_id: uuid.UUID | None = None
    group_code: str | None = None
    reason_code: str | None = None
    service_date: date | None = None
    provider_adjustment_id: int | None = None  # the 835 PLB adjustment that wrote it
    application_id: uuid.UUID | None = None  # the financial assistance application that wrote it


@dataclass
class OpenItem:
    """An item (claim or charge) that still has money owed on it."""

    item_id: uuid.UUID
    claim_id: uuid.UUID | None
    patient_due: Decimal
    insurance_pending: Decimal
    service_date: date | None


def aging(items: Iterable[OpenItem], as_of: date) -> dict[str, Decimal]:
    """What is still owed per item (by anyone), in buckets of days since the date of
    service on `as_of`; an item without a date of service counts as new. Every open item
    counts, a credit balance on one (an overpaid claim) too, so the buckets add up to the sum
    of the open items: nothing owed is left out, nothing is counted twice."""
    result = {name: ZERO for name, _, _ in AGING_BUCKETS}
    for item in items:
        owed = item.patient_due + item.insurance_pending
        if owed == 0:
            continue
        age = (as_of - item.service_date).days if item.service_date else 0
        for name, low, high in AGING_BUCKETS:
            if age >= low and (high is None or age <= high):
                result[name] += owed
                break
        else:
            result["0-30"] += owed
    return {name: owed.quantize(CENT) for name, owed in result.items()}


def spread(amount: Decimal, available: Sequence[tuple[K, Decimal]]) -> list[tuple[K | None, Decimal]]:
    """Take `amount` from each (item, available) in turn until it is used up; a rest that
    fits nowhere comes back last as (None, rest): unapplied. Payments spread over open items,
    refunds over what a payment paid, plan payments over installments."""
    result: list[tuple[K | None, Decimal]] = []
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


def credit_entries(
    account_id: str, amount: Decimal, owing: Sequence[tuple[uuid.UUID, Decimal]], description: str
) -> list[Entry]:
    """A manual credit spread over what is owed per item (oldest first), never below zero on
    any; what none can take comes last as a `refund_due` row (the caller decides whether that
    is allowed)."""
    return [
        Entry(
            account_id=account_id,
            entry_type="adjustment" if item is not None else "refund_due",
            amount=-take,
            bucket="patient",
            item_id=item,
            description=description if item is not None else f"Refund due ({description})",
        )
        for item, take in spread(amount, owing)
    ]
