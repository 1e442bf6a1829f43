"""The append-only account ledger: how money is written, and how balances are derived.

Every amount on an account is a ledger row; nothing else holds a balance. A row says
which party owes it (`bucket`: insurance while a claim is with the payer, patient once
the 835 moves the patient's share over) and which open item it belongs to (`item_id`: the
claim, or a manual charge; NULL for unapplied money). Sums over those two columns give the
balance, the insurance-pending and patient-due amounts, and each item's open balance.
Corrections are new rows, never updates (a trigger and the role's grants forbid them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.models import LedgerEntry
from shared.bulk import insert_many

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass
class Entry:
    account_id: str
    entry_type: str  # charge, payment, insurance_payment, adjustment, transfer, refund
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


async def append(
    session: AsyncSession,
    entries: list[Entry],
    now: datetime | None = None,
    *,
    times: list[datetime] | None = None,
) -> None:
    """Write entries with one INSERT, in the caller's transaction, all at `now`, or each at
    its own time from `times` (many remittances posted in one statement keep their own)."""
    if not entries:
        return
    if times is None:
        times = [now or datetime.now(UTC)] * len(entries)
    rows = [{**entry.__dict__, "occurred_at": at} for entry, at in zip(entries, times, strict=True)]
    await insert_many(session, LedgerEntry.__table__, rows)  # type: ignore[attr-defined]


async def lock_account(session: AsyncSession, account_id: str) -> None:
    """Serialise writers that allocate against open items of one account (payments,
    refunds), so two of them never spend the same open balance."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('payments-account'), hashtext(:a))"), {"a": account_id}
    )


@dataclass
class OpenItem:
    item_id: uuid.UUID
    claim_id: uuid.UUID | None
    patient_due: Decimal
    insurance_pending: Decimal
    service_date: date | None


async def open_items(session: AsyncSession, account_id: str) -> list[OpenItem]:
    """Items with money still owed, oldest service date first (the order payments apply in)."""
    rows = (
        await session.execute(
            text(
                "SELECT item_id, max(claim_id::text) AS claim_id, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) AS patient_due, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'insurance'), 0) AS insurance_pending, "
                "min(service_date) AS service_date, min(id) AS first_id "
                "FROM ledger_entries WHERE account_id = :a AND item_id IS NOT NULL "
                "GROUP BY item_id HAVING sum(amount) <> 0 "
                "ORDER BY min(service_date) NULLS LAST, min(id)"
            ),
            {"a": account_id},
        )
    ).all()
    return [
        OpenItem(
            r.item_id,
            uuid.UUID(r.claim_id) if r.claim_id else None,
            Decimal(r.patient_due),
            Decimal(r.insurance_pending),
            r.service_date,
        )
        for r in rows
    ]


AGING_BUCKETS = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("120+", 121, None),
)


async def account_summary(session: AsyncSession, account_id: str, as_of: date) -> dict[str, Any]:
    """Balance, insurance pending, patient due and aging, all summed from the ledger."""
    totals = (
        await session.execute(
            text(
                "SELECT coalesce(sum(amount), 0) AS balance, count(*) AS entries, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'insurance'), 0) AS insurance, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) AS patient, "
                "coalesce(sum(amount) FILTER (WHERE item_id IS NULL), 0) AS unapplied "
                "FROM ledger_entries WHERE account_id = :a"
            ),
            {"a": account_id},
        )
    ).one()
    aging = {name: ZERO for name, _, _ in AGING_BUCKETS}
    for item in await open_items(session, account_id):
        owed = item.patient_due + item.insurance_pending
        if owed <= 0:
            continue
        age = (as_of - item.service_date).days if item.service_date else 0
        for name, low, high in AGING_BUCKETS:
            if age >= low and (high is None or age <= high):
                aging[name] += owed
                break
        else:
            aging["0-30"] += owed
    return {
        "account_id": account_id,
        "balance": Decimal(totals.balance).quantize(CENT),
        "insurance_pending": Decimal(totals.insurance).quantize(CENT),
        "patient_due": Decimal(totals.patient).quantize(CENT),
        "unapplied_credit": (-Decimal(totals.unapplied)).quantize(CENT),
        "entry_count": totals.entries,
        "aging": {k: v.quantize(CENT) for k, v in aging.items()},
        "as_of": as_of,
    }
