"""Plans, the payments that pay them, and the plans' part of the account cycle: installments
coming due, installments missed, plans that broke the policy. The caller owns the
transaction; the cycle (services/payments/dunning) tells the patient and refers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.plans import store
from services.payments.plans.domain import broken_plan_reason, due_dates, pay_installments, split
from services.payments.plans.schemas import InstallmentOut, PlanIn, PlanOut
from services.payments.settings import payments_settings
from shared.problems import ProblemError

BATCH = 500  # due rows taken per statement


async def load_plan(session: AsyncSession, plan_id: uuid.UUID) -> PlanOut:
    """The plan and its installments; 404 when there is no such plan."""
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
        installments=[InstallmentOut.model_validate(r, from_attributes=True) for r in rows],
    )


async def create_plan(session: AsyncSession, body: PlanIn) -> uuid.UUID:
    """A new active plan with its installments; 409 when the account already has one."""
    if await store.has_active_plan(session, body.account_id):
        raise ProblemError(409, "plan-exists", "The account already has an active payment plan")
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
    return plan_id


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


async def installments_coming_due(session: AsyncSession, as_of: date, now: datetime) -> list[Row[Any]]:
    """Take (once: flagged at `now`) the installments of active plans due from `as_of` through
    the reminder window. (plan_id, number, due_date, owed, account_id), oldest due first."""
    horizon = as_of + timedelta(days=payments_settings().installment_reminder_days)
    return await _take(session, "due_notified_at", store.due_between(as_of, horizon), now)


async def installments_missed(session: AsyncSession, as_of: date, now: datetime) -> list[Row[Any]]:
    """Take (once: flagged at `now`) the unpaid installments of active plans due before `as_of`."""
    return await _take(session, "late_notified_at", store.due_before(as_of), now)


async def _take(
    session: AsyncSession, flag: str, window: ColumnElement[bool], now: datetime
) -> list[Row[Any]]:
    return await _claim_all(session, lambda: store.claim_installments(session, flag, window, now, BATCH))


async def default_broken_plans(session: AsyncSession, as_of: date) -> list[tuple[Row[Any], str]]:
    """Active plans that broke the policy (N missed installments, or one D days past due) end
    in status defaulted; (plan row, why) each, by account. The account's dunning takes it on."""
    settings = payments_settings()
    cutoff = as_of - timedelta(days=settings.collections_days_past_due)
    limit = settings.collections_missed_installments
    broken = []
    for row in await store.broken_plans(session, as_of, limit, cutoff):
        await store.set_status(session, row.id, "defaulted")
        broken.append((row, broken_plan_reason(row.missed, row.oldest, as_of, limit)))
    return broken


async def has_active_plan(session: AsyncSession, account_id: str) -> bool:
    return await store.has_active_plan(session, account_id)
