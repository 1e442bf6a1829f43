"""Plan arithmetic and the collections policy, without I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.payments.accounts.domain import spread
from shared.events.catalogue import InstallmentDue, PaymentLate

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


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


def pay_installments(amount: Decimal, unpaid: Sequence[tuple[int, Decimal]]) -> list[tuple[int, Decimal]]:
    """(number, take) per installment an amount pays, earliest first, from (number, owed);
    what is left over pays no installment."""
    return [(number, take) for number, take in spread(amount, unpaid) if number is not None]


def broken_plan_reason(missed: int, oldest: date, as_of: date, missed_limit: int) -> str:
    """Why a plan that broke the policy goes to collections (missed count wins)."""
    return (
        f"{missed} missed installments"
        if missed >= missed_limit
        else f"{(as_of - oldest).days} days past due"
    )


def installment_due(row: Any, notice_id: UUID | None = None) -> InstallmentDue:
    """The reminder of a claimed installment (plan_id, number, due_date, owed, account_id)."""
    return InstallmentDue(
        plan_id=row.plan_id,
        account_id=row.account_id,
        installment_number=row.number,
        amount=row.owed,
        due_date=row.due_date,
        notice_id=notice_id,
    )


def installment_late(as_of: date, row: Any, notice_id: UUID | None = None) -> PaymentLate:
    """The late notice of a claimed installment, counting days late on `as_of`."""
    return PaymentLate(
        plan_id=row.plan_id,
        account_id=row.account_id,
        installment_number=row.number,
        amount=row.owed,
        due_date=row.due_date,
        days_late=(as_of - row.due_date).days,
        notice_id=notice_id,
    )
