"""Underpayment rules without I/O: which posted lines were allowed below the contract in
effect on their date of service (beyond the practice's tolerance), which standing
underpayments a later posting of the same claim recovers, and the status machine.

    open ──dispute──> disputed ──recover──> recovered
                          └─────accept───> accepted
    open | disputed ──(a later posting allows more)──> recovered

Recovered and accepted are final. Neither moves money on the ledger: the posting already
wrote the whole variance off with the payer's own CAS (usually CO-45), so accepting only
records the decision, and the money a recovery stands for is posted from the 835 that paid it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.payments.contracts.domain import FeeBook
from services.payments.remittances.domain import Claim835, Line835
from services.payments.settings import payments_settings
from shared.events import Event, new_event
from shared.events.catalogue import PaymentUnderpaid

CENT = Decimal("0.01")
OPEN, DISPUTED, RECOVERED, ACCEPTED = "open", "disputed", "recovered", "accepted"
STATUSES = (OPEN, DISPUTED, RECOVERED, ACCEPTED)
STANDING = (OPEN, DISPUTED)  # still worked; a later posting may recover them
MOVES = {(OPEN, "dispute"): DISPUTED, (DISPUTED, "recover"): RECOVERED, (DISPUTED, "accept"): ACCEPTED}


def next_status(status: str, action: str) -> str | None:
    """Where `action` takes an underpayment in `status`; None when it is not allowed there."""
    return MOVES.get((status, action))


@dataclass(frozen=True)
class LineCheck:
    """One posted line compared with its contracted fee."""

    code: str
    modifier: str
    units: Decimal
    expected: Decimal
    actual: Decimal
    service_date: date
    fee_schedule_id: uuid.UUID

    @property
    def variance(self) -> Decimal:
        return self.expected - self.actual

    @property
    def beyond_tolerance(self) -> bool:
        """Below contract by more than max(absolute amount, percent of the contracted amount)."""
        settings = payments_settings()
        tolerance = max(
            settings.underpayment_tolerance_amount,
            self.expected * settings.underpayment_tolerance_percent / 100,
        )
        return self.variance > tolerance


def _actual(line: Line835) -> Decimal:
    """What the payer allowed: AMT*B6, else paid plus the patient's share (PR)."""
    if line.allowed is not None:
        return line.allowed
    return line.paid + sum((a.amount for a in line.adjustments if a.group_code == "PR"), Decimal(0))


def check_lines(claim: Claim835, book: FeeBook, *, payer_id: str, claim_dos: date) -> list[LineCheck]:
    """Each line with a contracted fee, compared with the version in effect on its date of
    service: 835 loop 2110 DTM*472 when the payer gives it, else the claim's."""
    checks = []
    for line in claim.lines:
        modifier = line.modifiers[0] if line.modifiers else ""
        on = line.service_date or claim_dos
        found = book.fee(payer_id, on, line.code, modifier)
        if found is None:
            continue
        fee, version = found
        units = line.units if line.units and line.units > 0 else Decimal(1)
        expected = (fee * units).quantize(CENT)
        checks.append(LineCheck(line.code, modifier, units, expected, _actual(line), on, version.id))
    return checks


@dataclass(frozen=True)
class Standing:
    """An open or disputed underpayment of a claim, as a later posting of it sees it."""

    id: uuid.UUID
    status: str
    code: str
    modifier: str
    actual: Decimal
    variance: Decimal


@dataclass(frozen=True)
class Recovery:
    """A standing underpayment a later posting recovered, and by how much."""

    underpayment: Standing
    amount: Decimal


def assess(checks: Sequence[LineCheck], standing: list[Standing]) -> tuple[list[LineCheck], list[Recovery]]:
    """A posting's lines against the claim's standing underpayments (taken from `standing`
    as they are settled): a line of the same code and modifier allowed more than before
    recovers the difference, up to the variance, and is checked afresh (a rest still below
    contract is a new underpayment); a line allowed no more leaves the standing one as it is
    and opens no second one. Returns (new underpayments, recoveries)."""
    found: list[LineCheck] = []
    recoveries: list[Recovery] = []
    for check in checks:
        before = next((s for s in standing if (s.code, s.modifier) == (check.code, check.modifier)), None)
        if before is not None:
            if check.actual <= before.actual:
                continue
            standing.remove(before)
            recoveries.append(Recovery(before, min(before.variance, check.actual - before.actual)))
        if check.beyond_tolerance:
            found.append(check)
    return found, recoveries


def underpayment_row(
    check: LineCheck, *, posting_id: uuid.UUID, claim_id: uuid.UUID, payer_id: str, now: datetime
) -> dict[str, Any]:
    """A new (open) `underpayments` row."""
    return {
        "id": uuid.uuid4(),
        "posting_id": posting_id,
        "claim_id": claim_id,
        "payer_id": payer_id,
        "code": check.code,
        "modifier": check.modifier,
        "units": check.units,
        "expected_allowed": check.expected,
        "actual_allowed": check.actual,
        "variance": check.variance,
        "detected_at": now,
        "status": OPEN,
        "fee_schedule_id": check.fee_schedule_id,
        "service_date": check.service_date,
    }


def underpaid_event(row: dict[str, Any]) -> Event:
    """The `payment.underpaid` of a new underpayment row."""
    return new_event(
        PaymentUnderpaid(
            claim_id=row["claim_id"],
            payer_id=row["payer_id"],
            code=row["code"],
            expected_allowed=row["expected_allowed"],
            actual_allowed=row["actual_allowed"],
            variance=row["variance"],
            detected_at=row["detected_at"],
        )
    )
