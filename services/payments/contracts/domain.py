"""Contract rules without I/O: reading a fee schedule file, and which version of a payer's
schedule is in effect on a date of service."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.events.catalogue import FeeScheduleEntry
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
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):  # e.g. [null]: a 422, not an AttributeError's 500
            raise InvalidFeeSchedule(
                f"body.entries[{n}]", f"Row {n}: send an object {{code, modifier, allowed}}."
            )
    return rows


def _csv_rows(raw: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(raw))
    if not reader.fieldnames or not {"code", "allowed"} <= {f.strip().lower() for f in reader.fieldnames}:
        raise InvalidFeeSchedule("body", "The CSV needs a header row with code, modifier and allowed.")
    return [{k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in reader]


@dataclass(frozen=True)
class FeeVersion:
    """One upload of a payer's fee schedule. `version` counts a payer's uploads (1, 2, ...)."""

    id: uuid.UUID
    payer_id: str
    version: int
    effective_date: date
    uploaded_at: datetime


def in_effect(versions: Iterable[FeeVersion], on: date) -> FeeVersion | None:
    """The version in effect on a date of service: the latest effective date on or before it,
    and among equal effective dates the latest upload (the highest version number: numbers
    are given in upload order). A contract applies to the services given while it is in
    force, whenever the remittance for them arrives."""
    chosen = None
    for v in versions:
        if v.effective_date <= on and (
            chosen is None or (v.effective_date, v.version) > (chosen.effective_date, chosen.version)
        ):
            chosen = v
    return chosen


@dataclass
class FeeBook:
    """What a batch of postings compares its lines with: its payers' versions and the rates
    of those versions for the codes the batch has."""

    versions: dict[str, list[FeeVersion]] = field(default_factory=dict)
    rates: dict[uuid.UUID, FeeSchedule] = field(default_factory=dict)

    def fee(self, payer_id: str, on: date, code: str, modifier: str) -> tuple[Decimal, FeeVersion] | None:
        """Allowed per unit for the code with this modifier (else the code alone) in the
        version in effect on `on`, and that version; None when there is no such fee."""
        version = in_effect(self.versions.get(payer_id, ()), on)
        if version is None:
            return None
        rates = self.rates.get(version.id, {})
        allowed = rates.get((code, modifier), rates.get((code, "")))
        return None if allowed is None else (allowed, version)


def entries_of(rates: Sequence[Any]) -> list[FeeScheduleEntry]:
    """Stored rates (code, modifier, allowed) as the event and the API show them."""
    return [FeeScheduleEntry(code=r.code, modifier=r.modifier or None, allowed=r.allowed) for r in rates]
