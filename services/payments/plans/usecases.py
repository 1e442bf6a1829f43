"""Plans (made for at most what the patient owes, changed or cancelled with every version
kept), the payments that pay them, and the cycle of reminders, late notices and collections
referrals. The caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Row
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts import store as ledger
from services.payments.accounts.usecases import account_summary
from services.payments.plans import store
from services.payments.plans.domain import (
    ZERO,
    Terms,
    broken_plan_reason,
    clamped,
    due_dates,
    export_csv,
    installment_due,
    installment_late,
    pay_installments,
    reschedule,
    snapshot,
    split,
)
from services.payments.plans.schemas import (
    CycleResult,
    InstallmentOut,
    PlanCancelIn,
    PlanChangeIn,
    PlanIn,
    PlanOut,
    PlanVersionOut,
)
from services.payments.settings import payments_settings
from services.payments.statements import store as statements
from shared.events import new_event
from shared.events.catalogue import AccountSentToCollections, Payload, PaymentLate
from shared.outbox import add_event
from shared.paging import DateRange
from shared.problems import ProblemError, invalid

BATCH = 500  # due rows taken per statement


async def load_plan(session: AsyncSession, plan_id: uuid.UUID) -> PlanOut:
    """The plan, its installments and every version of it; 404 when there is no such plan."""
    plan = await store.get_plan(session, plan_id)
    if plan is None:
        raise ProblemError(404, "not-found", "Payment plan not found")
    rows = await store.installments(session, plan_id)
    return PlanOut(
        id=plan.id,
        account_id=plan.account_id,
        total=plan.total,
        installment_count=plan.installment_count,
        frequency=plan.frequency,
        first_due_date=plan.first_due_date,
        status=plan.status,
        version=plan.version,
        installments=[InstallmentOut.model_validate(r, from_attributes=True) for r in rows],
        history=[
            PlanVersionOut.model_validate(v, from_attributes=True)
            for v in await store.versions(session, plan_id)
        ],
    )


async def create_plan(session: AsyncSession, body: PlanIn, actor: str) -> uuid.UUID:
    """A new active plan with its installments, for at most what the patient owes now; 409
    when the account already has one."""
    await ledger.lock_account(session, body.account_id)
    if await store.has_active_plan(session, body.account_id):
        raise ProblemError(409, "plan-exists", "The account already has an active payment plan")
    await _covers(session, body.account_id, body.amount)
    plan_id = uuid.uuid4()
    dates = due_dates(body.first_due_date, body.installments, body.frequency)
    amounts = split(body.amount, body.installments)
    await store.add_plan(
        session,
        id=plan_id,
        account_id=body.account_id,
        total=body.amount,
        installment_count=body.installments,
        frequency=body.frequency,
        first_due_date=body.first_due_date,
        created_at=datetime.now(UTC),
        installment_rows=[
            {"plan_id": plan_id, "number": i + 1, "due_date": d, "amount": a}
            for i, (d, a) in enumerate(zip(dates, amounts, strict=True))
        ],
    )
    await _keep_version(session, plan_id, "created", None, actor)
    return plan_id


async def change_plan(session: AsyncSession, plan_id: uuid.UUID, body: PlanChangeIn, actor: str) -> None:
    """New terms for an active plan: what was paid stays paid, the rest of the new total (at
    most what the patient owes now) is split again from the first unpaid installment's date
    (or the date or day the change names). The version before stays in the history."""
    plan = await _lock_active(session, plan_id)
    rows = await store.installments(session, plan_id)
    unpaid = [r for r in rows if r.paid < r.amount]
    paid = sum((Decimal(r.paid) for r in rows), ZERO)
    total = body.amount or Decimal(plan.total)
    if total <= paid:
        raise invalid(
            ("body.amount", "at_least_paid", "The new total must be more than what was paid on it.")
        )
    await _covers(session, plan.account_id, total - paid)
    frequency = body.frequency or plan.frequency
    if body.day is not None and frequency != "monthly":
        raise invalid(("body.day", "monthly_only", "A day of the month applies to monthly plans."))
    start = unpaid[0].due_date if unpaid else date.today()
    first = body.first_due_date or (clamped(start.year, start.month, body.day) if body.day else start)
    count = body.installments or max(len(unpaid), 1)
    kept, new = reschedule(rows, Terms(total, count, frequency, first, body.day))
    await store.replace_unpaid(
        session, plan_id, [{"plan_id": plan_id, "number": n, "due_date": d, "amount": a} for n, d, a in new]
    )
    await store.update_plan(
        session,
        plan_id,
        total=total,
        installment_count=len(kept) + count,
        frequency=frequency,
        version=plan.version + 1,
    )
    await _keep_version(session, plan_id, "changed", body.reason, actor)


async def cancel_plan(session: AsyncSession, plan_id: uuid.UUID, body: PlanCancelIn, actor: str) -> None:
    """End an active plan: payments no longer pay its installments, no more notices, and the
    account may have a new plan. Its versions stay."""
    plan = await _lock_active(session, plan_id)
    await store.update_plan(session, plan_id, status="cancelled", version=plan.version + 1)
    await _keep_version(session, plan_id, "cancelled", body.reason, actor)


async def _lock_active(session: AsyncSession, plan_id: uuid.UUID) -> Row[Any]:
    """The plan to change, locked (its account first, in the order payments lock them); 404
    unknown, 409 unless active."""
    plan = await store.get_plan(session, plan_id)
    if plan is None:
        raise ProblemError(404, "not-found", "Payment plan not found")
    await ledger.lock_account(session, plan.account_id)
    plan = await store.get_plan(session, plan_id, lock=True)
    assert plan is not None  # plans are never deleted
    if plan.status != "active":
        raise ProblemError(
            409, "plan-not-active", "Only an active plan can be changed", f"It is {plan.status}."
        )
    return plan


async def _covers(session: AsyncSession, account_id: str, amount: Decimal) -> None:
    """Practice policy: a plan schedules at most what the patient owes now (patient bucket,
    less credit); a plan on nothing, or for more, is a 422."""
    owed = Decimal((await ledger.totals(session, account_id)).patient)
    if amount > owed:
        raise invalid(
            ("body.amount", "within_patient_due", "A plan covers at most what the patient owes now.")
        )


async def _keep_version(
    session: AsyncSession, plan_id: uuid.UUID, action: str, reason: str | None, actor: str
) -> None:
    """Append the plan as it now stands (terms and schedule) to its history."""
    plan = await store.get_plan(session, plan_id)
    assert plan is not None
    await store.add_version(
        session,
        plan_id=plan_id,
        version=plan.version,
        action=action,
        total=plan.total,
        installment_count=plan.installment_count,
        frequency=plan.frequency,
        first_due_date=plan.first_due_date,
        status=plan.status,
        installments=snapshot(await store.installments(session, plan_id)),
        reason=reason,
        actor=actor,
        at=datetime.now(UTC),
    )


async def apply_payment(session: AsyncSession, account_id: str, amount: Decimal) -> None:
    """A patient payment pays the active plan's installments, earliest first; a plan paid
    off is completed."""
    plan_id = await store.lock_active_plan(session, account_id)
    if plan_id is None:
        return
    for number, take in pay_installments(amount, await store.unpaid_installments(session, plan_id)):
        await store.pay_installment(session, plan_id, number, take)
    if await store.fully_paid(session, plan_id):
        await store.set_status(session, plan_id, "completed")


async def refer(
    session: AsyncSession, account_id: str, plan_id: uuid.UUID | None, reason: str, now: datetime
) -> bool:
    """Send the account to collections with what the patient owes now (once per account;
    its plan, if any, ends in status collections). True when newly referred."""
    agency = payments_settings().collections_agency
    summary = await account_summary(session, account_id, now.date())
    balance = max(summary.patient_due, ZERO)
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
    if plan_id is not None:
        await store.set_status(session, plan_id, "collections")
    if not inserted:
        return False
    referred = AccountSentToCollections(
        account_id=account_id, agency=agency, balance=balance, referred_at=now
    )
    add_event(session, new_event(referred))
    return True


async def run_cycle(session: AsyncSession, as_of: date) -> CycleResult:
    """One pass of reminders, late notices and collections for `as_of`. Replicas may run it at
    the same time: notices take their rows with SKIP LOCKED and flag them in the same
    statement, referrals are once per account, so each notice and referral happens once."""
    result = CycleResult(as_of=as_of)
    now = datetime.now(UTC)
    result.installments_due = await _remind_due(session, as_of, now)
    result.installments_late = await _flag_late(session, as_of, now)
    result.sent_to_collections += await _refer_broken_plans(session, as_of, now)
    result.balances_late = await _late_statements(session, as_of, now)
    result.sent_to_collections += await _refer_late_balances(session, as_of, now)
    return result


async def _claim_all(
    session: AsyncSession, claim: Callable[[], Awaitable[Sequence[Row[Any]]]]
) -> list[Row[Any]]:
    """Every row a claim takes, batch after batch (a claimed row is flagged, so it is not
    taken again), oldest first."""
    rows: list[Row[Any]] = []
    while True:
        batch = await claim()
        rows.extend(batch)
        if len(batch) < BATCH:
            return rows


async def _remind_due(session: AsyncSession, as_of: date, now: datetime) -> int:
    """`payment_plan.installment_due` once per installment due within the reminder window."""
    horizon = as_of + timedelta(days=payments_settings().installment_reminder_days)
    window = store.due_between(as_of, horizon)
    return await _notify_installments(session, "due_notified_at", window, now, installment_due)


async def _flag_late(session: AsyncSession, as_of: date, now: datetime) -> int:
    """`payment.late` (with the plan) once per installment unpaid after its due date."""
    window = store.due_before(as_of)
    return await _notify_installments(
        session, "late_notified_at", window, now, partial(installment_late, as_of)
    )


async def _notify_installments(
    session: AsyncSession,
    flag: str,
    window: ColumnElement[bool],
    now: datetime,
    event: Callable[[Row[Any]], Payload],
) -> int:
    """Take every installment in `window` not yet flagged, flag it, publish its event."""
    rows = await _claim_all(session, lambda: store.claim_installments(session, flag, window, now, BATCH))
    for row in rows:
        add_event(session, new_event(event(row)))
    return len(rows)


async def _late_statements(session: AsyncSession, as_of: date, now: datetime) -> int:
    """`payment.late` without a plan, once per account's oldest statement past due while the
    account owes and has no active plan."""
    late = await _claim_all(session, lambda: statements.claim_late(session, as_of, now, BATCH))
    for row in late:
        owed = (await account_summary(session, row.account_id, as_of)).patient_due
        days = (as_of - row.due_date).days
        add_event(
            session,
            new_event(
                PaymentLate(account_id=row.account_id, amount=owed, due_date=row.due_date, days_late=days)
            ),
        )
    return len(late)


async def _refer_broken_plans(session: AsyncSession, as_of: date, now: datetime) -> list[str]:
    """Plans that broke the policy (N missed installments or D days past due) go to collections."""
    settings = payments_settings()
    cutoff = as_of - timedelta(days=settings.collections_days_past_due)
    referred = []
    for row in await store.broken_plans(session, as_of, settings.collections_missed_installments, cutoff):
        reason = broken_plan_reason(row.missed, row.oldest, as_of, settings.collections_missed_installments)
        if await refer(session, row.account_id, row.id, reason, now):
            referred.append(row.account_id)
    return referred


async def _refer_late_balances(session: AsyncSession, as_of: date, now: datetime) -> list[str]:
    """Accounts without a plan whose oldest statement is the policy's days past due go to collections."""
    days_limit = payments_settings().collections_days_past_due
    referred = []
    for row in await statements.late_accounts(session, as_of):
        days = (as_of - row.due_date).days
        if days >= days_limit and await refer(session, row.account_id, None, f"{days} days past due", now):
            referred.append(row.account_id)
    return referred


async def collections_csv(session: AsyncSession, dates: DateRange) -> str:
    """The agency's CSV of the accounts referred in the range (either end open)."""
    return export_csv(await store.referrals(session, dates.date_from, dates.date_to))
