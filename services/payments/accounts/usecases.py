"""What can be done with an account: read its derived balances and its ledger, add a
manual charge or adjustment (bounded by the balance and the practice's maximum write-off; over
the practice's approval threshold, approved by a second person), and say whether payments
knows an account at all. The caller owns the transaction (the idempotent write opens it for
the POSTs)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.account_holds import store as holds
from services.payments.account_holds.schemas import HoldOut
from services.payments.accounts import store
from services.payments.accounts.domain import CENT, ZERO, Entry, aging, credit_entries
from services.payments.accounts.schemas import (
    AccountOut,
    AdjustmentIn,
    ChargeIn,
    ItemOut,
    Ledger,
    LedgerLine,
    Written,
)
from services.payments.approvals import usecases as approvals
from services.payments.approvals.schemas import ApprovalOut
from services.payments.approvals.tables import Approval
from services.payments.assistance import store as assistance
from services.payments.assistance.schemas import AssistanceOut, FinancingOut
from services.payments.claimcopies import store as claimcopies
from services.payments.denials import store as denials
from services.payments.limits import usecases as limits
from services.payments.limits.domain import Limits
from services.payments.provider_adjustments import store as provider_adjustments
from services.payments.provider_adjustments.schemas import ProviderAdjustmentOut
from shared.paging import PageQuery
from shared.problems import ProblemError, invalid


async def account_summary(session: AsyncSession, account_id: str, as_of: date) -> AccountOut:
    """Balance, insurance pending (and what of it payers denied), patient due, credit, refund
    due, aging and the open items, all summed from the ledger (the aging adds up to
    `aged_balance`, the open items; denials come from the standing 835 postings), and the
    payers' provider-level adjustments (PLB) that name the account's claims."""
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
        refund_due=(-Decimal(totals.refund_due)).quantize(CENT),
        entry_count=totals.entries,
        insurance_denied=sum((i.insurance_denied for i in shown), ZERO),
        aged_balance=sum((i.patient_due + i.insurance_pending for i in items), ZERO).quantize(CENT),
        aging=aging(items, as_of),
        as_of=as_of,
        items=shown,
        provider_adjustments=[
            ProviderAdjustmentOut.model_validate(r, from_attributes=True)
            for r in await provider_adjustments.of_account(session, account_id)
        ],
    )


async def account_view(session: AsyncSession, account_id: str, as_of: date) -> AccountOut:
    """The account's GET: its summary, and what the front office put on it (open holds,
    financing referrals, assistance posted), all from one snapshot: a posting that commits
    while the view is read shows in all of it or in none."""
    await store.one_snapshot(session)
    view = await account_summary(session, account_id, as_of)
    view.holds = [HoldOut.model_validate(h) for h in await holds.open_holds(session, account_id)]
    view.financing = [
        FinancingOut.model_validate(f) for f in await assistance.financing_of(session, account_id)
    ]
    view.financial_assistance = [
        AssistanceOut.model_validate(a) for a in await assistance.adjustments_of(session, account_id)
    ]
    return view


async def require_account(session: AsyncSession, account_id: str, field: str | None = None) -> None:
    """Refuse money for an account payments does not know: 404, or a 422 naming `field` when the
    id came in the body. Payments knows an account when it has ledger rows (a claim's charges, a
    self-pay charge, a payment) or a claim was sent for it (`claim.submitted`, kept as a claim
    copy: a secondary claim adds no charge)."""
    if await store.has_rows(session, account_id) or await claimcopies.has_account(session, account_id):
        return
    why = "Payments knows an account by its ledger or a claim sent for it."
    if field is None:
        raise ProblemError(404, "not-found", "Account not found", why)
    raise invalid((field, "known_account", f"No such account. {why}"))


async def ledger(session: AsyncSession, account_id: str, page: PageQuery) -> Ledger:
    """One page of the account's ledger rows, in the order written, and the balance: the sum
    of the whole ledger, whichever page this is (the page and the sum from one snapshot)."""
    await store.one_snapshot(session)
    rows, next_cursor = await store.entries(session, account_id, page)
    balance = await store.balance(session, account_id)
    return Ledger(
        account_id=account_id,
        balance=balance,
        entries=[LedgerLine.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
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


async def adjustment_limits(session: AsyncSession) -> Limits:
    """The practice's limits, read in a transaction of their own before the adjustment's
    (whether it waits for approval decides the answer's status, 201 or 202)."""
    async with session.begin():
        return await limits.current(session)


async def adjust(
    session: AsyncSession, account_id: str, body: AdjustmentIn, actor: str, bounds: Limits
) -> Written | ApprovalOut:
    """A manual adjustment, checked now against the practice's maximum write-off (422
    `max_write_off`, nothing asked or written) and the balance; written at once, or, over the
    approval threshold, stored for a second person's approval (nothing moves until then)."""
    await limits.require_within(session, "write_off", body.amount, "body.amount", bounds)
    entries = await adjustment_entries(session, account_id, body)
    if not bounds.needs_approval(body.amount):
        await store.append(session, entries)
        return written(account_id, entries)
    row = await approvals.request_approval(
        session,
        kind="adjustment",
        subject=account_id,
        command={"account_id": account_id, "body": body.model_dump(mode="json")},
        summary={
            "account_id": account_id,
            "amount": str(body.amount),
            "direction": body.direction,
            "item_id": str(body.item_id) if body.item_id else None,
            "refund_due": body.refund_due,
        },
        reason=body.reason,
        actor=actor,
    )
    return ApprovalOut.model_validate(row, from_attributes=True)


@approvals.executor("adjustment")
async def _approved(session: AsyncSession, command: dict[str, Any], approval: Approval) -> dict[str, Any]:
    """An approved adjustment: checked again against the balance as it is now (a payment may
    have come in meanwhile), then written in the approver's transaction."""
    body = AdjustmentIn.model_validate(command["body"])
    entries = await adjustment_entries(session, command["account_id"], body)
    await store.append(session, entries)
    return written(command["account_id"], entries).model_dump(mode="json")


async def adjustment_entries(session: AsyncSession, account_id: str, body: AdjustmentIn) -> list[Entry]:
    """The ledger rows an adjustment writes, or the problem that refuses it. Locks the account
    (it reads open items to choose). A debit goes on the named item, else on a new item of its
    own dated today (so it is aged like any charge); a credit takes at most what the patient owes
    on the named item, else on the open items oldest first, and what is left is refused or,
    marked `refund_due`, recorded as a refund due."""
    await store.lock_account(session, account_id)
    await require_account(session, account_id)
    if body.item_id is not None and not await store.has_item(session, account_id, body.item_id):
        raise invalid(("body.item_id", "known_item", "Name an item (claim or charge) of this account."))
    description = f"Adjustment: {body.reason}"
    if body.direction == "debit":
        if body.refund_due:
            raise invalid(("body.refund_due", "credit_only", "Only a credit can leave a refund due."))
        return [
            Entry(
                account_id=account_id,
                entry_type="adjustment",
                amount=body.amount,
                bucket="patient",
                item_id=body.item_id or uuid.uuid4(),
                description=description,
                service_date=None if body.item_id else datetime.now(UTC).date(),
            )
        ]
    owing = [
        (i.item_id, i.patient_due)
        for i in await store.open_items(session, account_id)
        if i.patient_due > 0 and body.item_id in (None, i.item_id)
    ]
    entries = credit_entries(account_id, body.amount, owing, description)
    if entries[-1].entry_type == "refund_due" and not body.refund_due:
        raise invalid(
            (
                "body.amount",
                "within_balance",
                "A credit takes at most what the patient owes on what it applies to; mark it "
                "refund_due to record the rest as a refund due to the patient.",
            )
        )
    return entries


def written(account_id: str, entries: list[Entry]) -> Written:
    """What an adjustment wrote, as the API answers it."""
    return Written(
        account_id=account_id,
        item_id=next((e.item_id for e in entries if e.item_id is not None), None),
        amount=sum((e.amount for e in entries), ZERO),
        entry_type="adjustment",
        refund_due=-sum((e.amount for e in entries if e.entry_type == "refund_due"), ZERO),
    )
