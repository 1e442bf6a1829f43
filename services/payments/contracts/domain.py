"""Contract rules without I/O: reading a fee schedule file, and which posted service lines
were paid below contract beyond the practice's tolerance."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.payments.remittances.domain import Claim835
from services.payments.settings import payments_settings
from shared.events import Event, new_event
from shared.events.catalogue import FeeScheduleEntry, PaymentUnderpaid
from shared.money import MoneyError, parse_money

CENT = Decimal("0.01")
FeeSchedule = dict[tuple[str, str], Decimal]  # (code, modifier or "") -> allowed per unit


class InvalidFeeSchedule(ValueError):
    """A fee schedule file that cannot be loaded: where (`field`) and what to fix."""

    def __init__(self, field: str, message: str, rule: str = "format") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.rule = rule


def parse_fee_schedule(body: bytes, content_type: str) -> list[FeeScheduleEntry]:
    """CSV (header code,modifier,allowed) or JSON ({"entries": [...]} or a list); raises
    InvalidFeeSchedule naming the row."""
    raw = body.decode("utf-8-sig", errors="replace")
    rows = _json_rows(raw) if "json" in content_type else _csv_rows(raw)
    entries: list[FeeScheduleEntry] = []
    seen: set[tuple[str, str]] = set()
    for n, row in enumerate(rows, start=1):
        try:
            allowed = parse_money(row.get("allowed", ""))
        except MoneyError as error:
            raise InvalidFeeSchedule(f"body.entries[{n}].allowed", f"Row {n}: {error}", error.rule) from None
        try:
            entry = FeeScheduleEntry(
                code=str(row.get("code", "")).upper(),
                modifier=(str(row.get("modifier") or "").upper() or None),
                allowed=allowed,
            )
        except ValueError:
            raise InvalidFeeSchedule(
                f"body.entries[{n}]", f"Row {n}: code (5 characters), modifier (2) and allowed (amount)."
            ) from None
        key = (entry.code, entry.modifier or "")
        if key in seen:
            raise InvalidFeeSchedule(f"body.entries[{n}]", f"Row {n}: code and modifier appear twice.")
        seen.add(key)
        entries.append(entry)
    if not entries:
        raise InvalidFeeSchedule("body", "The fee schedule has no entries.")
    return entries


def _json_rows(raw: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidFeeSchedule("body", "The body is not valid JSON.") from None
    rows = data.get("entries", []) if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise InvalidFeeSchedule("body.entries", "Send a list of {code, modifier, allowed}.")
    return rows


def _csv_rows(raw: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(raw))
    if not reader.fieldnames or not {"code", "allowed"} <= {f.strip().lower() for f in reader.fieldnames}:
        raise InvalidFeeSchedule("body", "The CSV needs a header row with code, modifier and allowed.")
    return [{k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in reader]


@dataclass
class Underpayment:
    """One service line paid below its contracted allowed amount."""

    posting_id: uuid.UUID
    claim_id: uuid.UUID
    payer_id: str
    code: str
    modifier: str
    units: Decimal
    expected: Decimal
    actual: Decimal

    @property
    def variance(self) -> Decimal:
        return self.expected - self.actual

    def row(self, detected_at: datetime) -> dict[str, Any]:
        """Its `underpayments` row."""
        return {
            "id": uuid.uuid4(),
            "posting_id": self.posting_id,
            "claim_id": self.claim_id,
            "payer_id": self.payer_id,
            "code": self.code,
            "modifier": self.modifier,
            "units": self.units,
            "expected_allowed": self.expected,
            "actual_allowed": self.actual,
            "variance": self.variance,
            "detected_at": detected_at,
        }

    def event(self, now: datetime) -> Event:
        """Its `payment.underpaid` event."""
        return new_event(
            PaymentUnderpaid(
                claim_id=self.claim_id,
                payer_id=self.payer_id,
                code=self.code,
                expected_allowed=self.expected,
                actual_allowed=self.actual,
                variance=self.variance,
                detected_at=now,
            )
        )


def check_underpayments(
    claim: Claim835,
    fees: FeeSchedule,
    *,
    payer_id: str,
    claim_id: uuid.UUID,
    posting_id: uuid.UUID,
) -> list[Underpayment]:
    """Lines whose allowed amount (AMT*B6, else paid + patient share) is below the contract
    by more than the tolerance: max(absolute amount, percent of the contracted amount)."""
    settings = payments_settings()
    found = []
    for line in claim.lines:
        modifier = line.modifiers[0] if line.modifiers else ""
        fee = fees.get((line.code, modifier), fees.get((line.code, "")))
        if fee is None:
            continue
        units = line.units if line.units and line.units > 0 else Decimal(1)
        expected = (fee * units).quantize(CENT)
        if line.allowed is not None:
            actual = line.allowed
        else:
            actual = line.paid + sum((a.amount for a in line.adjustments if a.group_code == "PR"), Decimal(0))
        tolerance = max(
            settings.underpayment_tolerance_amount, expected * settings.underpayment_tolerance_percent / 100
        )
        if expected - actual > tolerance:
            found.append(
                Underpayment(posting_id, claim_id, payer_id, line.code, modifier, units, expected, actual)
            )
    return found
