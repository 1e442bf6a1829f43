"""All of the plans sub-domain's SQL: plans, their installments and versions, the policy's
queries, and collections referrals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, exists, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.plans.tables import CollectionsReferral, PaymentPlan, PlanInstallment, PlanVersion
from shared.bulk import insert_many
from shared.due import claim_due


async def get_plan(session: AsyncSession, plan_id: uuid.UUID, *, lock: bool = False) -> Row[Any] | None:
    """One plan; `lock` holds it (FOR UPDATE) while it is changed."""
    stmt = select(PaymentPlan.__table__).where(PaymentPlan.__table__.c.id == plan_id)  # type: ignore[attr-defined]
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).first()


async def update_plan(session: AsyncSession, plan_id: uuid.UUID, **values: Any) -> None:
    """New terms (total, installment_count, frequency, status, version) of one plan."""
    await session.execute(
        update(PaymentPlan.__table__)  # type: ignore[attr-defined]
        .where(PaymentPlan.__table__.c.id == plan_id)  # type: ignore[attr-defined]
        .values(**values)
    )


async def replace_unpaid(session: AsyncSession, plan_id: uuid.UUID, new_rows: list[dict[str, Any]]) -> None:
    """A changed schedule: installments that got money close at what they got, the unpaid
    ones give way to `new_rows` (the old schedule stays in the plan's versions)."""
    await session.execute(
        text("UPDATE plan_installments SET amount = paid WHERE plan_id = :p AND paid > 0 AND paid < amount"),
        {"p": plan_id},
    )
    await session.execute(
        text("DELETE FROM plan_installments WHERE plan_id = :p AND paid = 0"), {"p": plan_id}
    )
    await insert_many(session, PlanInstallment.__table__, new_rows)  # type: ignore[attr-defined]


async def add_version(session: AsyncSession, **values: Any) -> None:
    """Keep the plan as it now stands (append-only)."""
    await session.execute(insert(PlanVersion.__table__).values(**values))  # type: ignore[attr-defined]


async def versions(session: AsyncSession, plan_id: uuid.UUID) -> Sequence[Row[Any]]:
    """Every version of the plan, oldest first."""
    return (
        await session.execute(
            text("SELECT * FROM payment_plan_versions WHERE plan_id = :p ORDER BY version"), {"p": plan_id}
        )
    ).all()


async def installments(session: AsyncSession, plan_id: uuid.UUID) -> Sequence[Row[Any]]:
    """(number, due_date, amount, paid) of every installment, in order."""
    return (
        await session.execute(
            text(
                "SELECT number, due_date, amount, paid FROM "
                "plan_installments WHERE plan_id = :id ORDER BY number"
            ),
            {"id": plan_id},
        )
    ).all()


async def has_active_plan(session: AsyncSession, account_id: str) -> bool:
    found = (
        await session.execute(
            text("SELECT 1 FROM payment_plans WHERE account_id = :a AND status = 'active'"), {"a": account_id}
        )
    ).first()
    return found is not None


async def add_plan(session: AsyncSession, *, installment_rows: list[dict[str, Any]], **plan: Any) -> None:
    """Insert the plan (status active) and its installments (one statement for all)."""
    await session.execute(insert(PaymentPlan.__table__).values(**plan))  # type: ignore[attr-defined]
    await insert_many(session, PlanInstallment.__table__, installment_rows)  # type: ignore[attr-defined]


async def lock_active_plan(session: AsyncSession, account_id: str) -> uuid.UUID | None:
    """The account's active plan, locked for the payment that pays into it."""
    plan = (
        await session.execute(
            text("SELECT id FROM payment_plans WHERE account_id = :a AND status = 'active' FOR UPDATE"),
            {"a": account_id},
        )
    ).first()
    return plan.id if plan else None


async def unpaid_installments(session: AsyncSession, plan_id: uuid.UUID) -> list[tuple[int, Decimal]]:
    """(number, still owed) of the plan's unpaid installments, earliest first."""
    rows = (
        await session.execute(
            text(
                "SELECT number, amount, paid FROM plan_installments WHERE plan_id = :p AND paid < amount "
                "ORDER BY number"
            ),
            {"p": plan_id},
        )
    ).all()
    return [(r.number, Decimal(r.amount) - Decimal(r.paid)) for r in rows]


async def pay_installment(session: AsyncSession, plan_id: uuid.UUID, number: int, amount: Decimal) -> None:
    await session.execute(
        text("UPDATE plan_installments SET paid = paid + :t WHERE plan_id = :p AND number = :n"),
        {"t": amount, "p": plan_id, "n": number},
    )


async def fully_paid(session: AsyncSession, plan_id: uuid.UUID) -> bool:
    rows = (
        await session.execute(
            text("SELECT amount, paid FROM plan_installments WHERE plan_id = :p"), {"p": plan_id}
        )
    ).all()
    return all(Decimal(r.amount) - Decimal(r.paid) <= 0 for r in rows)


async def set_status(session: AsyncSession, plan_id: uuid.UUID, status: str) -> None:
    """completed (paid off) or collections (referred)."""
    await session.execute(
        text("UPDATE payment_plans SET status = :s WHERE id = :p"), {"s": status, "p": plan_id}
    )


async def claim_installments(
    session: AsyncSession, flag: str, window: ColumnElement[bool], now: datetime, limit: int
) -> Sequence[Row[Any]]:
    """Take up to `limit` unpaid installments of active plans in `window` whose `flag`
    (due_notified_at or late_notified_at) is not set, and set it to `now`, in one statement
    (SKIP LOCKED: replicas never take the same one, and once committed it is never due again,
    so each is notified once). (plan_id, number, due_date, owed, account_id), oldest due first."""
    i = PlanInstallment.__table__.c  # type: ignore[attr-defined]
    p = PaymentPlan.__table__.c  # type: ignore[attr-defined]
    active = exists().where(p.id == i.plan_id, p.status == "active")
    account = select(p.account_id).where(p.id == i.plan_id).scalar_subquery()
    return await claim_due(
        session,
        PlanInstallment,
        due=and_(i.paid < i.amount, i[flag].is_(None), window, active),
        order_by=[i.due_date, i.plan_id, i.number],
        limit=limit,
        values={flag: now},
        returning=[
            i.plan_id,
            i.number,
            i.due_date,
            (i.amount - i.paid).label("owed"),
            account.label("account_id"),
        ],
    )


def due_between(first: date, last: date) -> ColumnElement[bool]:
    """Installments due from `first` through `last` (the reminder window)."""
    return PlanInstallment.__table__.c.due_date.between(first, last)  # type: ignore[attr-defined]


def due_before(day: date) -> ColumnElement[bool]:
    """Installments due before `day` (late on it)."""
    return PlanInstallment.__table__.c.due_date < day  # type: ignore[attr-defined]


async def broken_plans(session: AsyncSession, as_of: date, missed: int, cutoff: date) -> Sequence[Row[Any]]:
    """Active plans with at least `missed` unpaid installments past due, or one due on or
    before `cutoff`: (id, account_id, missed, oldest), by account."""
    return (
        await session.execute(
            text(
                "SELECT p.id, p.account_id, count(*) AS missed, min(i.due_date) AS oldest "
                "FROM payment_plans p JOIN plan_installments i ON i.plan_id = p.id "
                "WHERE p.status = 'active' AND i.paid < i.amount AND i.due_date < :as_of "
                "GROUP BY p.id, p.account_id HAVING count(*) >= :missed OR min(i.due_date) <= :cutoff "
                # One order for every replica: two cycles referring the same accounts wait, not deadlock.
                "ORDER BY p.account_id"
            ),
            {"as_of": as_of, "missed": missed, "cutoff": cutoff},
        )
    ).all()


async def add_referral(session: AsyncSession, **values: Any) -> bool:
    """Refer the account (id, account_id, plan_id, reason, balance, agency, referred_at);
    False when it already was (once per account)."""
    stmt = (
        pg_insert(CollectionsReferral.__table__)  # type: ignore[attr-defined]
        .values(**values)
        .on_conflict_do_nothing(index_elements=["account_id"])
        .returning(CollectionsReferral.__table__.c.id)  # type: ignore[attr-defined]
    )
    return (await session.execute(stmt)).first() is not None


async def referrals(
    session: AsyncSession, date_from: date | None, date_to: date | None
) -> Sequence[Row[Any]]:
    """Referrals made from `date_from` through `date_to` (either end open), oldest first."""
    return (
        await session.execute(
            text(
                "SELECT account_id, balance, reason, agency, plan_id, referred_at FROM collections_referrals "
                "WHERE (CAST(:f AS date) IS NULL OR referred_at >= :f) "
                "AND (CAST(:t AS date) IS NULL OR referred_at < CAST(:t AS date) + 1) "
                "ORDER BY referred_at, account_id"
            ),
            {"f": date_from, "t": date_to},
        )
    ).all()
