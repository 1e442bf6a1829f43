"""Service levels as data: the target per category, and the due times it gives. No I/O.

The targets are the practice's promises, kept here as reviewed data rather than settings:
they are policy, changed by a commit that says why, and the docs (docs/tickets.md) quote them.

- dispute: 30 calendar days. FDCPA § 1692g gives the consumer a 30-day validation window and
  stops collection of a disputed debt until it is answered; the answer should not outlast it.
- complaint: 5 business days, the common promise of a written answer within a working week.
- balance_question, payment_arrangement: 2 business days; a patient waiting to pay should hear
  within two working days (a slow answer costs the practice too).
- insurance_question: 5 business days; it usually needs a call to the payer.
- financial_assistance: 14 calendar days; the application is worked in the assistance part,
  the ticket only needs the patient pointed there and answered.

Business days skip Saturdays and Sundays (no holiday calendar: a holiday makes a due time a
day early, never late). A ticket still open one more target after its due time escalates
again, at level 2, to the senior contact; there is no level 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_LEVEL = 2


@dataclass(frozen=True)
class Target:
    days: int
    business_days: bool

    def describe(self) -> str:
        return f"{self.days} {'business' if self.business_days else 'calendar'} days"


TARGETS: dict[str, Target] = {
    "dispute": Target(30, business_days=False),
    "complaint": Target(5, business_days=True),
    "balance_question": Target(2, business_days=True),
    "payment_arrangement": Target(2, business_days=True),
    "insurance_question": Target(5, business_days=True),
    "financial_assistance": Target(14, business_days=False),
}


def add_days(start: datetime, target: Target) -> datetime:
    """`start` plus the target: calendar days, or business days skipping weekends (a start on a
    weekend counts from the Monday)."""
    if not target.business_days:
        return start + timedelta(days=target.days)
    at, left = start, target.days
    while at.weekday() >= 5:
        at += timedelta(days=1)
    while left:
        at += timedelta(days=1)
        if at.weekday() < 5:
            left -= 1
    return at


def due_at(category: str, start: datetime) -> datetime:
    """When a ticket of `category` opened (or reopened) at `start` is due."""
    return add_days(start, TARGETS[category])


def next_check(category: str, breached_due: datetime, level: int) -> datetime | None:
    """After a breach at `level`, when the ticket escalates again if still open (one more
    target later), or None once the last level is reached."""
    if level >= MAX_LEVEL:
        return None
    return add_days(breached_due, TARGETS[category])
