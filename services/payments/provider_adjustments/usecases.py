"""What is done with provider-level adjustments: each remittance's PLB adjustments placed
(tied to the claim they name, written on its ledger item, or carried as a forward balance)
right after its claims are posted, with a few statements for a whole poll; and the views."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts import store as ledger
from services.payments.accounts.domain import Entry
from services.payments.postings.usecases import Arrived
from services.payments.provider_adjustments import domain, store
from services.payments.provider_adjustments.schemas import (
    ForwardBalanceOut,
    ForwardBalanceReport,
    ForwardBalanceTotal,
    ProviderAdjustmentOut,
    Recovery,
)
from shared.paging import DateRange, PageQuery


async def record(session: AsyncSession, arrived: Sequence[Arrived]) -> None:
    """Place the PLB adjustments of these just-posted remittances, in file order (see the
    domain module for what each reason does), and write them: the forward balances, the
    adjustments, and the claims' ledger rows."""
    adjustments = [(a, adj) for a in arrived for adj in a.remittance.provider_adjustments]
    if not adjustments:
        return
    keys = [key for _, adj in adjustments for key in domain.reference_keys(adj.reference)]
    by_payer_number, by_pcn = await store.claims_named(session, [a.payer_id for a in arrived], keys)
    balances = await store.lock_open_balances(
        session, [(a.payer_id, adj.reference) for a, adj in adjustments]
    )
    ids = await store.next_ids(session, len(adjustments))
    rows: list[dict[str, Any]] = []
    entries: list[Entry] = []
    times: list[datetime] = []
    touched: dict[uuid.UUID, domain.ForwardBalance] = {}
    for adjustment_id, (a, adj) in zip(ids, adjustments, strict=True):
        claim = domain.claim_named(adj.reference, a.payer_id, by_payer_number, by_pcn)
        effect, balance = domain.place(
            adj, payer_id=a.payer_id, claim=claim, balances=balances, remittance_id=a.id, now=a.now
        )
        if balance is not None:
            touched[balance.id] = balance
        if effect == domain.CLAIM_LEDGER and claim is not None:
            entries.append(domain.claim_entry(adj, claim, adjustment_id))
            times.append(a.now)
        rows.append(domain.adjustment_row(adjustment_id, a.id, adj, claim, effect, balance))
    await store.save_balances(session, list(touched.values()))
    await store.insert_adjustments(session, rows)
    await ledger.append(session, entries, times=times)


async def of_remittance(session: AsyncSession, remittance_id: uuid.UUID) -> list[ProviderAdjustmentOut]:
    """A remittance's PLB adjustments as its summary shows them."""
    rows = await store.of_remittance(session, remittance_id)
    return [ProviderAdjustmentOut.model_validate(r, from_attributes=True) for r in rows]


async def of_account(session: AsyncSession, account_id: str) -> list[ProviderAdjustmentOut]:
    """The PLB adjustments tied to an account's claims, as the account view shows them."""
    rows = await store.of_account(session, account_id)
    return [ProviderAdjustmentOut.model_validate(r, from_attributes=True) for r in rows]


async def list_forward_balances(
    session: AsyncSession, page: PageQuery, dates: DateRange, *, payer_id: str | None, status: str | None
) -> tuple[list[ForwardBalanceOut], str | None]:
    """One page of forward balances (newest opened first), each with its recoveries."""
    rows, cursor = await store.list_balances(session, page, dates, payer_id=payer_id, status=status)
    recovered: dict[uuid.UUID, list[Recovery]] = {}
    for r in await store.recoveries(session, [row.id for row in rows]):
        recovered.setdefault(r.forward_balance_id, []).append(
            Recovery.model_validate(r, from_attributes=True)
        )
    items = [
        ForwardBalanceOut(
            **{name: getattr(row, name) for name in ForwardBalanceOut.model_fields if hasattr(row, name)},
            status="open" if row.recovered_at is None else "recovered",
            recoveries=recovered.get(row.id, []),
        )
        for row in rows
    ]
    return items, cursor


async def totals(session: AsyncSession, dates: DateRange, payer_id: str | None) -> ForwardBalanceReport:
    """Per payer: the open forward balances (count and amount) and how many were recovered."""
    rows = [
        ForwardBalanceTotal.model_validate(r, from_attributes=True)
        for r in await store.totals(session, dates, payer_id)
    ]
    return ForwardBalanceReport(date_from=dates.date_from, date_to=dates.date_to, rows=rows)


async def open_payer_credit(
    session: AsyncSession,
    *,
    payer_id: str,
    reference: str,
    claim_id: uuid.UUID,
    account_id: str,
    amount: Decimal,
    remittance_id: uuid.UUID,
    now: datetime,
) -> uuid.UUID:
    """Record money a payer paid twice as owed back to it: a forward balance (negative, as a PLB
    FB the payer added to a payment reads) under the claim's reference (CLP07), which the payer's
    later PLB WO or FB with that reference recovers on its own (`record`), or a refund closes
    (`settle_payer_credit`). An open one with the reference takes the amount too (one open per
    payer and reference). Nothing on the claim or the patient: the claim was paid once."""
    balances = await store.lock_open_balances(session, [(payer_id, reference)])
    balance = balances.get((payer_id, reference))
    if balance is None:
        balance = domain.ForwardBalance(
            uuid.uuid4(),
            payer_id,
            reference,
            claim_id,
            account_id,
            amount,
            amount,
            remittance_id,
            now,
            new=True,
        )
    else:
        balance.open_amount += amount
        if balance.open_amount == 0:
            balance.recovered_by_remittance_id, balance.recovered_at = remittance_id, now
    await store.save_balances(session, [balance])
    return balance.id


async def settle_payer_credit(
    session: AsyncSession, *, payer_id: str, reference: str, amount: Decimal, now: datetime
) -> bool:
    """Take `amount` (the credit's sign) off the payer's open credit under `reference`: the
    practice refunded it outside the 835. False when none is open (the payer took it back)."""
    balances = await store.lock_open_balances(session, [(payer_id, reference)])
    balance = balances.get((payer_id, reference))
    if balance is None:
        return False
    balance.open_amount -= amount
    if balance.open_amount == 0:
        balance.recovered_at = now
    await store.save_balances(session, [balance])
    return True
