"""The matching rules and the report's arithmetic, without I/O.

A deposit is matched by the reference it carries (the deposits sub-domain reads it from the
bank file):
- an EFT by the CORE EFT & ERA reassociation rule: the ACH addenda's TRN02 is the 835's TRN02
  (and when both carry TRN03, the payer's originating company id, they agree); the 835 is not
  a check;
- a check by its number: on a check 835 (BPR04=CHK) TRN02 is the check number (leading zeros
  aside, which banks and payers pad differently);
- a card settlement by the processor's batch id, against the sum of that batch's card payments.
The amount must agree with BPR02 (signed: a debit 835 is negative) or the batch total; a
reference match with another amount is a discrepancy, linked and shown as such. When one
reference finds several 835s, the one with the same amount is taken; if none or several have
it, the deposit is left for a person. A pair a person unmatched is never matched again
automatically.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.payments.reconciliation.schemas import MatchedDeposit, MatchOut, Totals
from shared.paging import DateRange
from shared.problems import invalid

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Expected:
    """Money a deposit can be matched to: an 835 (`remittance`) or a card batch (`batch`)."""

    target: str
    key: str  # remittance id or batch id
    reference: str  # the 835's TRN02, or the batch id
    amount: Decimal
    method: str = "card"
    originator: str | None = None


@dataclass(frozen=True)
class Found:
    deposit_id: uuid.UUID
    expected: Expected
    rule: str
    deposit_amount: Decimal

    @property
    def status(self) -> str:
        return status(self.deposit_amount, self.expected.amount)


def status(deposit: Decimal, expected: Decimal, *, accept_difference: bool = False) -> str:
    return "matched" if deposit == expected or accept_difference else "discrepancy"


def check_number(value: str | None) -> str | None:
    """A check number as compared: without leading zeros."""
    return None if value is None else (value.lstrip("0") or "0")


def _candidates(deposit: Any, expected: Sequence[Expected]) -> tuple[str, list[Expected]]:
    """The rule a deposit is matched by and the 835s or batches its reference names."""
    if deposit.kind == "eft" and deposit.trace_number:
        return "eft_trace", [
            e
            for e in expected
            if e.target == "remittance"
            and e.method != "check"
            and e.reference == deposit.trace_number
            and (not deposit.trace_originator or not e.originator or e.originator == deposit.trace_originator)
        ]
    if deposit.kind == "check" and deposit.check_number:
        number = check_number(deposit.check_number)
        return "check_number", [
            e
            for e in expected
            if e.target == "remittance" and e.method == "check" and check_number(e.reference) == number
        ]
    if deposit.kind == "card" and deposit.batch_id:
        return "card_batch", [e for e in expected if e.target == "batch" and e.key == deposit.batch_id]
    return "", []


def match(
    deposits: Iterable[Any], expected: Sequence[Expected], ended: set[tuple[uuid.UUID, str]]
) -> list[Found]:
    """Each deposit's match, if its reference names exactly one open 835 or batch (or several,
    of which exactly one has its amount); each 835 or batch at most once; never a pair in
    `ended` (deposit id, target key)."""
    taken: set[str] = set()
    found = []
    for deposit in deposits:
        rule, candidates = _candidates(deposit, expected)
        candidates = [c for c in candidates if c.key not in taken and (deposit.id, c.key) not in ended]
        same = [c for c in candidates if c.amount == Decimal(deposit.amount)]
        chosen = candidates[0] if len(candidates) == 1 else same[0] if len(same) == 1 else None
        if chosen is not None:
            taken.add(chosen.key)
            found.append(Found(deposit.id, chosen, rule, Decimal(deposit.amount)))
    return found


def match_out(row: Any) -> MatchOut:
    return MatchOut(**_match_fields(row))


def matched_deposit(row: Any) -> MatchedDeposit:
    return MatchedDeposit(
        **_match_fields(row),
        bank_date=row.bank_date,
        kind=row.kind,
        payer_id=row.payer_id,
        trace_number=row.trace_number,
        paid_date=row.paid_date,
    )


def _match_fields(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "deposit_id": row.deposit_id,
        "remittance_id": row.remittance_id,
        "card_batch": row.card_batch,
        "rule": row.rule,
        "status": row.status,
        "deposit_amount": row.deposit_amount,
        "expected_amount": row.expected_amount,
        "difference": Decimal(row.deposit_amount) - Decimal(row.expected_amount),
        "reason": row.reason,
        "matched_by": row.matched_by,
        "matched_at": row.matched_at,
    }


def age(since: date | None, as_of: date) -> int:
    """Whole days from `since` to the report's date (0 when it is later)."""
    return 0 if since is None else max((as_of - since).days, 0)


def totals(row: Any, unapplied_patient_credit: Decimal) -> Totals:
    """The report's totals from the one totals query's row."""
    values = {name: getattr(row, name) for name in Totals.model_fields if name != "unapplied_patient_credit"}
    return Totals(**values, unapplied_patient_credit=unapplied_patient_credit)


def required(dates: DateRange) -> tuple[date, date]:
    """The reconciliation needs both ends of its range (a 422 naming each missing one)."""
    missing = [
        (f"query.{name}", "missing", "Give the first and last bank and paid date of the range.")
        for name in ("date_from", "date_to")
        if getattr(dates, name) is None
    ]
    if missing:
        raise invalid(*missing)
    assert dates.date_from is not None and dates.date_to is not None
    return dates.date_from, dates.date_to
