"""Self-pay payment plans, late balances and collections.

A plan splits an amount into installments on a schedule; patient payments on the account
pay installments in order. The cycle (`run_cycle`, run by the worker daily or by the
operations endpoint for a chosen date) reminds before due dates, flags missed installments
and statements past due, and refers an account to collections once the practice's policy
says so (N missed installments, or D days past due, whichever first). Time is a parameter,
so the whole policy can be exercised for any date.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments import ledger
from services.payments.settings import payments_settings
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.events import new_event
from shared.events.catalogue import AccountSentToCollections, InstallmentDue, PaymentLate
from shared.outbox import add_event
from shared.problems import ProblemError

SOURCE = "/services/payments"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

router = APIRouter(tags=["payment plans"])


def due_dates(first: date, count: int, frequency: str) -> list[date]:
    """Installment dates; monthly keeps the day of month (clamped to the month's end)."""
    if frequency == "weekly":
        return [first + timedelta(weeks=i) for i in range(count)]
    if frequency == "biweekly":
        return [first + timedelta(weeks=2 * i) for i in range(count)]
    result = []
    for i in range(count):
        month = first.month - 1 + i
        year, month = first.year + month // 12, month % 12 + 1
        day = first.day
        while True:
            try:
                result.append(date(year, month, day))
                break
            except ValueError:
                day -= 1
    return result


def split(total: Decimal, count: int) -> list[Decimal]:
    """Equal installments to the cent; the last one takes the rounding remainder."""
    part = (total / count).quantize(CENT, rounding="ROUND_DOWN")
    return [part] * (count - 1) + [total - part * (count - 1)]


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    installments: int = Field(ge=1, le=120)
    frequency: Literal["weekly", "biweekly", "monthly"] = "monthly"
    first_due_date: date


class InstallmentOut(BaseModel):
    number: int
    due_date: date
    amount: Decimal
    paid: Decimal


class PlanOut(BaseModel):
    id: uuid.UUID
    account_id: str
    total: Decimal
    installment_count: int
    frequency: str
    first_due_date: date
    status: str
    installments: list[InstallmentOut]


async def load_plan(session: AsyncSession, plan_id: uuid.UUID) -> PlanOut:
    plan = (
        await session.execute(text("SELECT * FROM payment_plans WHERE id = :id"), {"id": plan_id})
    ).first()
    if plan is None:
        raise ProblemError(404, "not-found", "Payment plan not found")
    rows = (
        await session.execute(
            text(
                "SELECT number, due_date, amount, paid FROM "
                "plan_installments WHERE plan_id = :id ORDER BY number"
            ),
            {"id": plan_id},
        )
    ).all()
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


@router.post(
    "/v1/payment-plans",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    summary="Put a patient balance on a payment plan (one active plan per account)",
)
async def create_plan(
    body: PlanIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("payment_plan", "create", require_scopes("payments:write"))],
) -> PlanOut:
    trail.patient_id = body.account_id
    plan_id = uuid.uuid4()
    async with session.begin():
        exists = (
            await session.execute(
                text("SELECT 1 FROM payment_plans WHERE account_id = :a AND status = 'active'"),
                {"a": body.account_id},
            )
        ).first()
        if exists:
            raise ProblemError(409, "plan-exists", "The account already has an active payment plan")
        await session.execute(
            text(
                "INSERT INTO payment_plans (id, account_id, total, "
                "installment_count, frequency, first_due_date, "
                "created_at) VALUES (:id, :a, :t, :n, :f, :d, :now)"
            ),
            {
                "id": plan_id,
                "a": body.account_id,
                "t": body.amount,
                "n": body.installments,
                "f": body.frequency,
                "d": body.first_due_date,
                "now": datetime.now(UTC),
            },
        )
        dates = due_dates(body.first_due_date, body.installments, body.frequency)
        await session.execute(
            text("INSERT INTO plan_installments (plan_id, number, due_date, amount) VALUES (:p, :n, :d, :a)"),
            [
                {"p": plan_id, "n": i + 1, "d": d, "a": a}
                for i, (d, a) in enumerate(zip(dates, split(body.amount, body.installments), strict=True))
            ],
        )
    trail.resource_id = str(plan_id)
    return await load_plan(session, plan_id)


@router.get("/v1/payment-plans/{plan_id}", response_model=PlanOut, summary="A plan and its installments")
async def get_plan(
    plan_id: uuid.UUID,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("payment_plan", "read", require_scopes("payments:read"))],
) -> PlanOut:
    trail.resource_id = str(plan_id)
    plan = await load_plan(session, plan_id)
    trail.patient_id = plan.account_id
    return plan


async def apply_payment(session: AsyncSession, account_id: str, amount: Decimal) -> None:
    """A patient payment pays the active plan's installments, earliest first."""
    plan = (
        await session.execute(
            text("SELECT id FROM payment_plans WHERE account_id = :a AND status = 'active' FOR UPDATE"),
            {"a": account_id},
        )
    ).first()
    if plan is None:
        return
    rows = (
        await session.execute(
            text(
                "SELECT number, amount, paid FROM plan_installments WHERE plan_id = :p AND paid < amount "
                "ORDER BY number"
            ),
            {"p": plan.id},
        )
    ).all()
    left = amount
    for row in rows:
        if left <= 0:
            break
        take = min(left, Decimal(row.amount) - Decimal(row.paid))
        await session.execute(
            text("UPDATE plan_installments SET paid = paid + :t WHERE plan_id = :p AND number = :n"),
            {"t": take, "p": plan.id, "n": row.number},
        )
        left -= take
    if left >= 0 and all(
        Decimal(r.amount) - Decimal(r.paid) <= 0
        for r in (
            await session.execute(
                text("SELECT amount, paid FROM plan_installments WHERE plan_id = :p"), {"p": plan.id}
            )
        ).all()
    ):
        await session.execute(
            text("UPDATE payment_plans SET status = 'completed' WHERE id = :p"), {"p": plan.id}
        )


class CycleResult(BaseModel):
    as_of: date
    installments_due: int = 0
    installments_late: int = 0
    balances_late: int = 0
    sent_to_collections: list[str] = Field(default_factory=list)
    ran: bool = True


async def _refer(
    session: AsyncSession, account_id: str, plan_id: uuid.UUID | None, reason: str, now: datetime
) -> bool:
    settings = payments_settings()
    summary = await ledger.account_summary(session, account_id, now.date())
    balance = max(summary["patient_due"], ZERO)
    inserted = (
        await session.execute(
            text(
                "INSERT INTO collections_referrals (id, account_id, "
                "plan_id, reason, balance, agency, referred_at) "
                "VALUES (:id, :a, :p, :r, :b, :agency, :now) ON CONFLICT (account_id) DO NOTHING RETURNING id"
            ),
            {
                "id": uuid.uuid4(),
                "a": account_id,
                "p": plan_id,
                "r": reason,
                "b": balance,
                "agency": settings.collections_agency,
                "now": now,
            },
        )
    ).first()
    if plan_id is not None:
        await session.execute(
            text("UPDATE payment_plans SET status = 'collections' WHERE id = :p"), {"p": plan_id}
        )
    if inserted is None:
        return False
    add_event(
        session,
        new_event(
            AccountSentToCollections(
                account_id=account_id, agency=settings.collections_agency, balance=balance, referred_at=now
            ),
            source=SOURCE,
        ),
    )
    return True


async def _flag_installments(
    session: AsyncSession, flag: str, when: str, params: dict[str, Any]
) -> list[Row[Any]]:
    """Unpaid installments of active plans that match `when` and are not yet flagged
    (`flag` is due_notified_at or late_notified_at): flag them at :now and return them,
    oldest due date first. Finding and flagging is one statement, so each is notified once."""
    rows = (
        await session.execute(
            text(
                f"UPDATE plan_installments i SET {flag} = :now FROM payment_plans p "  # noqa: S608 (our own names)
                f"WHERE p.id = i.plan_id AND p.status = 'active' AND i.paid < i.amount AND i.{flag} IS NULL "
                f"AND {when} "
                "RETURNING i.plan_id, i.number, i.due_date, i.amount - i.paid AS owed, p.account_id"
            ),
            params,
        )
    ).all()
    return sorted(rows, key=lambda r: r.due_date)


async def run_cycle(session: AsyncSession, as_of: date) -> CycleResult:
    """One pass of reminders, late notices and collections for `as_of`; the caller commits.
    Only one replica runs it at a time (transaction-scoped advisory lock)."""
    settings = payments_settings()
    got = (
        await session.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('payments-plan-cycle'))"))
    ).scalar_one()
    result = CycleResult(as_of=as_of)
    if not got:
        result.ran = False
        return result
    now = datetime.now(UTC)
    due = await _flag_installments(
        session,
        "due_notified_at",
        "i.due_date BETWEEN :as_of AND :horizon",
        {"as_of": as_of, "horizon": as_of + timedelta(days=settings.installment_reminder_days), "now": now},
    )
    for row in due:
        add_event(
            session,
            new_event(
                InstallmentDue(
                    plan_id=row.plan_id,
                    account_id=row.account_id,
                    installment_number=row.number,
                    amount=row.owed,
                    due_date=row.due_date,
                ),
                source=SOURCE,
            ),
        )
    result.installments_due = len(due)
    late = await _flag_installments(
        session, "late_notified_at", "i.due_date < :as_of", {"as_of": as_of, "now": now}
    )
    for row in late:
        add_event(
            session,
            new_event(
                PaymentLate(
                    plan_id=row.plan_id,
                    account_id=row.account_id,
                    installment_number=row.number,
                    amount=row.owed,
                    due_date=row.due_date,
                    days_late=(as_of - row.due_date).days,
                ),
                source=SOURCE,
            ),
        )
    result.installments_late = len(late)
    # Plans that broke the policy.
    broken = (
        await session.execute(
            text(
                "SELECT p.id, p.account_id, count(*) AS missed, min(i.due_date) AS oldest "
                "FROM payment_plans p JOIN plan_installments i ON i.plan_id = p.id "
                "WHERE p.status = 'active' AND i.paid < i.amount AND i.due_date < :as_of "
                "GROUP BY p.id, p.account_id HAVING count(*) >= :missed OR min(i.due_date) <= :cutoff"
            ),
            {
                "as_of": as_of,
                "missed": settings.collections_missed_installments,
                "cutoff": as_of - timedelta(days=settings.collections_days_past_due),
            },
        )
    ).all()
    for row in broken:
        reason = (
            f"{row.missed} missed installments"
            if row.missed >= settings.collections_missed_installments
            else f"{(as_of - row.oldest).days} days past due"
        )
        if await _refer(session, row.account_id, row.id, reason, now):
            result.sent_to_collections.append(row.account_id)
    # Statement balances past due on accounts without an active plan.
    overdue = (
        await session.execute(
            text(
                "SELECT DISTINCT ON (s.account_id) s.id, s.account_id, s.due_date, s.late_notified_at "
                "FROM statements s WHERE s.due_date < :as_of AND NOT EXISTS (SELECT 1 FROM payment_plans p "
                "WHERE p.account_id = s.account_id AND p.status = 'active') AND NOT EXISTS (SELECT 1 FROM "
                "collections_referrals c WHERE c.account_id = s.account_id) ORDER BY s.account_id, s.due_date"
            ),
            {"as_of": as_of},
        )
    ).all()
    for row in overdue:
        summary = await ledger.account_summary(session, row.account_id, as_of)
        owed = summary["patient_due"]
        if owed <= 0:
            continue
        days = (as_of - row.due_date).days
        if row.late_notified_at is None:
            add_event(
                session,
                new_event(
                    PaymentLate(
                        account_id=row.account_id, amount=owed, due_date=row.due_date, days_late=days
                    ),
                    source=SOURCE,
                ),
            )
            await session.execute(
                text("UPDATE statements SET late_notified_at = :now WHERE id = :id"),
                {"now": now, "id": row.id},
            )
            result.balances_late += 1
        if days >= settings.collections_days_past_due and await _refer(
            session, row.account_id, None, f"{days} days past due", now
        ):
            result.sent_to_collections.append(row.account_id)
    return result


@router.post(
    "/v1/payment-plans/run-cycle",
    response_model=CycleResult,
    summary="Run reminders, late notices and collections for a date (operations; the worker runs it daily)",
)
async def run_cycle_now(
    session: SessionDep,
    _: Annotated[AuditTrail, audited("payment_plan_cycle", "run", require_scopes("payments:admin"))],
    as_of: Annotated[date | None, Query(description="The date to act as (default today).")] = None,
) -> CycleResult:
    async with session.begin():
        return await run_cycle(session, as_of or date.today())


async def cycle_worker(app: FastAPI) -> None:
    """The background step: today's cycle, in its own transaction."""
    async with app.state.db.session() as session, session.begin():
        await run_cycle(session, date.today())


@router.get(
    "/v1/collections/export",
    response_class=PlainTextResponse,
    summary="Accounts referred to collections, as CSV for the agency",
)
async def export_collections(
    session: SessionDep,
    _: Annotated[AuditTrail, audited("collections_export", "read", require_scopes("payments:admin"))],
    since: Annotated[date | None, Query()] = None,
) -> PlainTextResponse:
    rows = (
        await session.execute(
            text(
                "SELECT account_id, balance, reason, agency, plan_id, referred_at FROM collections_referrals "
                "WHERE (CAST(:since AS date) IS NULL OR referred_at >= "
                ":since) ORDER BY referred_at, account_id"
            ),
            {"since": since},
        )
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["account_id", "balance", "reason", "agency", "plan_id", "referred_at"])
    for r in rows:
        writer.writerow(
            [r.account_id, r.balance, r.reason, r.agency, r.plan_id or "", r.referred_at.isoformat()]
        )
    return PlainTextResponse(out.getvalue(), media_type="text/csv")
