"""Plan arithmetic and the collections policy, without I/O."""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.payments.accounts.domain import spread
from shared.events.catalogue import InstallmentDue, PaymentLate

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
EXPORT_COLUMNS = ("account_id", "balance", "reason", "agency", "plan_id", "referred_at")


def due_dates(first: date, count: int, frequency: str, day: int | None = None) -> list[date]:
    """Installment dates; monthly keeps the day of month (`day`, else the first date's),
    clamped to each month's end."""
    if frequency == "weekly":
        return [first + timedelta(weeks=i) for i in range(count)]
    if frequency == "biweekly":
        return [first + timedelta(weeks=2 * i) for i in range(count)]
    day = day or first.day
    result = []
    for i in range(count):
        month = first.month - 1 + i
        result.append(clamped(first.year + month // 12, month % 12 + 1, day))
    return result


def clamped(year: int, month: int, day: int) -> date:
    """That day of the month, or the month's last day when it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


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


def export_csv(rows: Iterable[Any]) -> str:
    """The agency's CSV of referrals (header, then one line per referral)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        writer.writerow(
            [r.account_id, r.balance, r.reason, r.agency, r.plan_id or "", r.referred_at.isoformat()]
        )
    return out.getvalue()


def installment_due(row: Any) -> InstallmentDue:
    """The reminder of a claimed installment (plan_id, number, due_date, owed, account_id)."""
    return InstallmentDue(
        plan_id=row.plan_id,
        account_id=row.account_id,
        installment_number=row.number,
        amount=row.owed,
        due_date=row.due_date,
    )


def installment_late(as_of: date, row: Any) -> PaymentLate:
    """The late notice of a claimed installment, counting days late on `as_of`."""
    return PaymentLate(
        plan_id=row.plan_id,
        account_id=row.account_id,
        installment_number=row.number,
        amount=row.owed,
        due_date=row.due_date,
        days_late=(as_of - row.due_date).days,
    )


@dataclass
class Terms:
    """A plan's terms after a change: its total, the rest split into `count` installments from
    `first` (monthly on `day`)."""

    total: Decimal
    count: int
    frequency: str
    first: date
    day: int | None


def reschedule(
    installments: Sequence[Any], terms: Terms
) -> tuple[list[tuple[int, Decimal]], list[tuple[int, date, Decimal]]]:
    """A changed schedule: (number, amount) of the installments that got money, closed at what
    they got, and (number, due date, amount) of the new unpaid ones that follow them, splitting
    what the new total leaves (payments fill installments in order, so the paid ones come first)."""
    kept = [(r.number, Decimal(r.paid)) for r in installments if Decimal(r.paid) > 0]
    paid = sum((amount for _, amount in kept), ZERO)
    after = max((number for number, _ in kept), default=0)
    dates = due_dates(terms.first, terms.count, terms.frequency, terms.day)
    amounts = split(terms.total - paid, terms.count)
    return kept, [(after + i + 1, d, a) for i, (d, a) in enumerate(zip(dates, amounts, strict=True))]


def snapshot(installments: Iterable[Any]) -> list[dict[str, str | int]]:
    """A schedule as a version row keeps it (JSON)."""
    return [
        {"number": r.number, "due_date": r.due_date.isoformat(), "amount": str(r.amount), "paid": str(r.paid)}
        for r in installments
    ]
