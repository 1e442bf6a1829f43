"""The dunning policy and the cycle's notice, without I/O: which step an account takes next
(if its time has come), and the parts of what the patient is told, in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from shared.events.catalogue import NoticePart

# The order parts are told in: what the balance is, what was missed, what is coming due, and
# what happens next.
_ORDER = {
    "statement": 0,
    "past_due_statement": 0,
    "installment_late": 1,
    "installment_due": 2,
    "final_notice": 3,
    "sent_to_collections": 4,
}


@dataclass(frozen=True)
class Policy:
    """The practice's dunning sequence (services/payments/settings.py)."""

    statement_days: tuple[int, ...]  # after the first statement, ascending, starting at 0
    final_notice_days: int  # after the last statement
    waiting_days: int  # after the final notice, before collections

    @classmethod
    def of(cls, settings: Any) -> Policy:
        days = tuple(sorted(set(settings.dunning_statement_days) | {0}))
        return cls(days, settings.dunning_final_notice_days, settings.dunning_waiting_days)

    def next_step(self, taken: Sequence[Any], as_of: date) -> str | None:
        """The kind of the step an open sequence takes on `as_of`, if its time has come: each
        waits its interval after the step before it (so a late cycle takes one step, and the
        next one waits again); None after the referral."""
        last = taken[-1]
        statements = sum(1 for s in taken if s.kind == "statement")
        if last.kind == "collections":
            return None
        if last.kind == "final_notice":
            kind, wait = "collections", self.waiting_days
        elif statements < len(self.statement_days):
            kind, wait = "statement", self.statement_days[statements] - self.statement_days[statements - 1]
        else:
            kind, wait = "final_notice", self.final_notice_days
        return kind if as_of >= last.step_date + timedelta(days=wait) else None


@dataclass
class Notice:
    """What one cycle tells one account, collected as the cycle goes."""

    account_id: str
    id: UUID = field(default_factory=uuid4)
    parts: list[NoticePart] = field(default_factory=list)

    def ordered(self) -> list[NoticePart]:
        return sorted(
            self.parts, key=lambda p: (_ORDER[p.kind], p.due_date or date.min, p.installment_number or 0)
        )


def statement_part(
    step: int, statement_id: UUID, owed: Decimal, due_date: date, late_since: date | None, as_of: date
) -> NoticePart:
    """A new statement; past due when the sequence's first statement was due before `as_of`."""
    days_late = (as_of - late_since).days if late_since else 0
    return NoticePart(
        kind="past_due_statement" if days_late > 0 else "statement",
        amount=owed,
        due_date=due_date,
        statement_id=statement_id,
        days_late=days_late or None,
        step=step,
    )


def installment_part(kind: str, row: Any, as_of: date) -> NoticePart:
    """An installment coming due or missed (a claimed plan_installments row)."""
    days_late = (as_of - row.due_date).days if kind == "installment_late" else None
    return NoticePart(
        kind=kind,  # type: ignore[arg-type]
        amount=row.owed,
        due_date=row.due_date,
        plan_id=row.plan_id,
        installment_number=row.number,
        days_late=days_late,
    )


def final_notice_part(
    step: int, owed: Decimal, agency: str, collections_on: date, plan_id: UUID | None
) -> NoticePart:
    return NoticePart(
        kind="final_notice",
        amount=owed,
        agency=agency,
        collections_on=collections_on,
        plan_id=plan_id,
        step=step,
    )


def unpaid_reason(taken: Sequence[Any], as_of: date) -> str:
    """Why an account without a plan gets its final notice."""
    statements = [s for s in taken if s.kind == "statement"]
    first_due = statements[0].statement_due if statements else None
    days = f", {(as_of - first_due).days} days past due" if first_due and as_of > first_due else ""
    return f"{len(statements)} statements unpaid{days}"
