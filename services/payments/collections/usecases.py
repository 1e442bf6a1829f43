"""Referring, recalling, disputes and the agency's export. The caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts.domain import Entry
from services.payments.accounts.usecases import account_summary
from services.payments.collections import domain, store
from services.payments.collections.tables import AccountDispute
from services.payments.parties.usecases import parties_of
from services.payments.plans import store as plans
from services.payments.settings import payments_settings
from services.payments.statements import store as statements
from shared.events import new_event
from shared.events.catalogue import AccountRecalled, AccountSentToCollections
from shared.outbox import add_event
from shared.paging import DateRange, PageQuery
from shared.problems import ProblemError

ZERO = Decimal("0.00")


async def refer(
    session: AsyncSession,
    account_id: str,
    plan_id: uuid.UUID | None,
    reason: str,
    now: datetime,
    notice_id: uuid.UUID | None = None,
) -> Decimal | None:
    """Send the account to collections with what the patient owes now, with
    `account.sent_to_collections` (told to the patient in notice `notice_id`); its plan, if
    any, ends in status collections. The balance referred, or None when it already was."""
    agency = payments_settings().collections_agency
    balance = max((await account_summary(session, account_id, now.date())).patient_due, ZERO)
    inserted = await store.add_referral(
        session,
        id=uuid.uuid4(),
        account_id=account_id,
        plan_id=plan_id,
        reason=reason,
        balance=balance,
        agency=agency,
        referred_at=now,
    )
    if not inserted:
        return None
    if plan_id is not None:
        await plans.set_status(session, plan_id, "collections")
    referred = AccountSentToCollections(
        account_id=account_id, agency=agency, balance=balance, referred_at=now, notice_id=notice_id
    )
    add_event(session, new_event(referred))
    return balance


async def _recall(
    session: AsyncSession, account_ids: Iterable[str], reason: str, amounts: dict[str, Decimal], now: datetime
) -> list[str]:
    """Recall the open referral of each account that has one: recorded on the referral and
    told to the agency by `account.recalled_from_collections`."""
    recalled = []
    for row in await store.open_referrals(session, sorted(set(account_ids))):
        amount = amounts.get(row.account_id)
        await store.recall(session, row.id, reason, amount, now)
        balance = (await account_summary(session, row.account_id, now.date())).patient_due
        event = AccountRecalled(
            account_id=row.account_id,
            agency=row.agency,
            referred_at=row.referred_at,
            reason=reason,  # type: ignore[arg-type]
            amount=amount,
            balance=balance,
            recalled_at=now,
        )
        add_event(session, new_event(event))
        recalled.append(row.account_id)
    return recalled


async def recall_paid(
    session: AsyncSession, entries: Iterable[Entry], now: datetime | None = None
) -> list[str]:
    """A payment after referral recalls the account: the patient's (`payment` rows) or an
    insurer's (`insurance_payment` rows). Called by the one posting path and by patient
    payments with the ledger rows they just wrote."""
    paid: dict[str, dict[str, Decimal]] = {"patient_payment": {}, "insurance_payment": {}}
    for e in entries:
        kind = {"payment": "patient_payment", "insurance_payment": "insurance_payment"}.get(e.entry_type)
        if kind and e.amount < 0:
            paid[kind][e.account_id] = paid[kind].get(e.account_id, ZERO) - e.amount
    when = now or datetime.now(UTC)
    recalled = []
    for reason, amounts in paid.items():
        if amounts:
            recalled += await _recall(session, amounts, reason, amounts, when)
    return recalled


async def open_dispute(
    session: AsyncSession, account_id: str, reason: str, actor: str, source_id: uuid.UUID | None = None
) -> AccountDispute:
    """The patient disputes the balance: dunning (statements and the referral) pauses until it
    is resolved, and an account with the agency is recalled. The one command of the API and of
    the front office's dispute tickets (`source_id`, the ticket): a ticket opens one dispute
    however often its hold is told."""
    if source_id is not None and (open_ := await store.open_dispute_of_source(session, source_id)):
        return open_
    now = datetime.now(UTC)
    dispute = AccountDispute(
        id=uuid.uuid4(),
        account_id=account_id,
        reason=reason,
        opened_by=actor,
        opened_at=now,
        source_id=source_id,
    )
    await store.add_dispute(session, dispute)
    await _recall(session, [account_id], "dispute", {}, now)
    return dispute


async def resolve_dispute(
    session: AsyncSession, account_id: str, dispute_id: uuid.UUID, resolution: str, actor: str
) -> None:
    """Close a dispute; dunning resumes at the next cycle. 404 for no such open dispute."""
    if not await store.resolve_dispute(session, account_id, dispute_id, actor, resolution, datetime.now(UTC)):
        raise ProblemError(404, "not-found", "No such open dispute on this account")


async def open_dispute_of_source(session: AsyncSession, source_id: uuid.UUID) -> AccountDispute | None:
    """The open dispute a front-office ticket opened, if any (to resolve it when its hold ends)."""
    return await store.open_dispute_of_source(session, source_id)


async def disputes(session: AsyncSession, account_id: str) -> list[Any]:
    return list(await store.disputes(session, account_id))


async def disputed_accounts(session: AsyncSession, account_ids: list[str] | None = None) -> set[str]:
    return await store.disputed_accounts(session, account_ids)


async def latest_referral(session: AsyncSession, account_id: str) -> Any:
    return await store.latest_referral(session, account_id)


async def export(session: AsyncSession, dates: DateRange, page: PageQuery) -> dict[str, Any]:
    """One page of what the agency works from: the accounts referred in the range with their
    debtor, visits, itemized charges and payments and last payment date, and the accounts
    recalled in the range (`next_cursor` for the next page: one page holds `page.limit`
    referrals, so an export never has to fit in one answer). The route's audit entry names
    every account the page holds (trail.saw_in)."""
    rows, next_cursor = await store.export_page(session, dates, page)
    referred = [r for r in rows if domain.within(dates, r.referred_at)]
    recalled = sorted(
        (r for r in rows if r.recalled_at is not None and domain.within(dates, r.recalled_at)),
        key=lambda r: (r.recalled_at, r.account_id),
    )
    accounts = sorted({r.account_id for r in referred})
    parties = await parties_of(session, accounts)
    rows = await store.ledger_rows(session, accounts)
    claims = await statements.claims_of(session, list({r.claim_id for r in rows if r.claim_id}))
    by_account: dict[str, list[Any]] = {}
    for r in rows:
        by_account.setdefault(r.account_id, []).append(r)
    today = datetime.now(UTC).date()
    balances = {
        a: (await account_summary(session, a, today)).patient_due for a in {r.account_id for r in recalled}
    }
    return {
        "agency": payments_settings().collections_agency,
        "generated_at": datetime.now(UTC).isoformat(),
        "date_from": dates.date_from.isoformat() if dates.date_from else None,
        "date_to": dates.date_to.isoformat() if dates.date_to else None,
        "referrals": [
            domain.referral(r, parties.get(r.account_id), by_account.get(r.account_id, []), claims)
            for r in referred
        ],
        "recalls": [domain.recall(r, balances[r.account_id]) for r in recalled],
        "next_cursor": next_cursor,
    }
