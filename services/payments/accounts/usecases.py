"""What can be done with an account: read its derived balances and its ledger, add a
manual charge or adjustment. The caller owns the transaction (the idempotent write opens
it for the POSTs)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts import store
from services.payments.accounts.domain import CENT, ZERO, Entry, aging
from services.payments.accounts.schemas import (
    AccountOut,
    AdjustmentIn,
    ChargeIn,
    ItemOut,
    Ledger,
    LedgerLine,
    Written,
)
from services.payments.denials import store as denials
from shared.problems import FieldError, ProblemError


async def account_summary(session: AsyncSession, account_id: str, as_of: date) -> AccountOut:
    """Balance, insurance pending (and what of it is denied), patient due, aging and the open
    items, all summed from the ledger (and the standing 835 postings, for denials)."""
    totals = await store.totals(session, account_id)
    items = await store.open_items(session, account_id)
    denied = await denials.denied_items(session, account_id=account_id)
    shown = [
        ItemOut(
            item_id=i.item_id,
            claim_id=i.claim_id,
            service_date=i.service_date,
            insurance_pending=i.insurance_pending.quantize(CENT),
            insurance_denied=denied[i.item_id].open.quantize(CENT) if i.item_id in denied else ZERO,
            patient_due=i.patient_due.quantize(CENT),
        )
        for i in items
    ]
    return AccountOut(
        account_id=account_id,
        balance=Decimal(totals.balance).quantize(CENT),
        insurance_pending=Decimal(totals.insurance).quantize(CENT),
        patient_due=Decimal(totals.patient).quantize(CENT),
        unapplied_credit=(-Decimal(totals.unapplied)).quantize(CENT),
        entry_count=totals.entries,
        insurance_denied=sum((i.insurance_denied for i in shown), ZERO),
        aging=aging(items, as_of),
        as_of=as_of,
        items=shown,
    )


async def ledger(session: AsyncSession, account_id: str) -> Ledger:
    """Every ledger row of the account and their sum (derived from the rows just read: the
    balance is the ledger's sum, not a second query)."""
    rows = await store.entries(session, account_id)
    return Ledger(
        account_id=account_id,
        balance=sum((r.amount for r in rows), Decimal("0")),
        entries=[LedgerLine.model_validate(r, from_attributes=True) for r in rows],
    )


async def add_charge(session: AsyncSession, account_id: str, body: ChargeIn) -> Written:
    """A new open item the patient owes directly, dated today unless the body says."""
    item = uuid.uuid4()
    entry = Entry(
        account_id=account_id,
        entry_type="charge",
        amount=body.amount,
        bucket="patient",
        item_id=item,
        description=body.description,
        service_date=body.service_date or datetime.now(UTC).date(),
    )
    await store.append(session, [entry])
    return Written(account_id=account_id, item_id=item, amount=body.amount, entry_type="charge")


async def add_adjustment(session: AsyncSession, account_id: str, body: AdjustmentIn) -> Written:
    """A manual credit or debit on the named open item, else on the oldest one the patient
    owes on (else unapplied). Locks the account: it reads open items to choose."""
    await store.lock_account(session, account_id)
    item = body.item_id
    if item is None:
        owing = [i for i in await store.open_items(session, account_id) if i.patient_due > 0]
        item = owing[0].item_id if owing else None
    elif not any(i.item_id == item for i in await store.open_items(session, account_id)):
        raise ProblemError(
            422,
            "unknown-item",
            "No open item with this id on the account",
            errors=[FieldError(field="body.item_id", rule="open_item", message="Name an open item.")],
        )
    amount = -body.amount if body.direction == "credit" else body.amount
    entry = Entry(
        account_id=account_id,
        entry_type="adjustment",
        amount=amount,
        bucket="patient",
        item_id=item,
        description=f"Adjustment: {body.reason}",
    )
    await store.append(session, [entry])
    return Written(account_id=account_id, item_id=item, amount=amount, entry_type="adjustment")
