"""Payer contracts: fee schedules (allowed amount per code and modifier) and the
underpayments found by comparing each posted service line with them."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.remittances.x835 import Claim835
from services.payments.settings import payments_settings
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.events import Event, new_event
from shared.events.catalogue import FeeScheduleEntry, FeeScheduleUpdated, PaymentUnderpaid
from shared.outbox import add_event
from shared.problems import FieldError, ProblemError

SOURCE = "/services/payments"
CENT = Decimal("0.01")
PayerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")]

router = APIRouter(tags=["contracts"])


async def current_fee_schedules(
    session: AsyncSession, payer_ids: list[str]
) -> dict[str, dict[tuple[str, str], Decimal]]:
    """Each payer's newest effective fee schedule as {(code, modifier): allowed}, with one
    query for all (a poll's remittances); payers without a schedule are absent."""
    if not payer_ids:
        return {}
    rows = (
        await session.execute(
            text(
                "SELECT s.payer_id, e.code, e.modifier, e.allowed "
                "FROM unnest(CAST(:p AS text[])) AS p(payer_id) "
                "CROSS JOIN LATERAL (SELECT id, payer_id FROM fee_schedules WHERE payer_id = p.payer_id "
                "AND effective_date <= current_date ORDER BY effective_date DESC, loaded_at DESC "
                "LIMIT 1) AS s "
                "JOIN fee_schedule_entries e ON e.fee_schedule_id = s.id"
            ),
            {"p": payer_ids},
        )
    ).all()
    fees: dict[str, dict[tuple[str, str], Decimal]] = {}
    for r in rows:
        fees.setdefault(r.payer_id, {})[r.code, r.modifier] = Decimal(r.allowed)
    return fees


@dataclass
class Underpayment:
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

    def row(self) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "posting_id": self.posting_id,
            "claim_id": self.claim_id,
            "payer_id": self.payer_id,
            "code": self.code,
            "modifier": self.modifier,
            "units": self.units,
            "expected": self.expected,
            "actual": self.actual,
            "variance": self.variance,
        }

    def event(self, now: datetime) -> Event:
        return new_event(
            PaymentUnderpaid(
                claim_id=self.claim_id,
                payer_id=self.payer_id,
                code=self.code,
                expected_allowed=self.expected,
                actual_allowed=self.actual,
                variance=self.variance,
                detected_at=now,
            ),
            source=SOURCE,
        )


def check_underpayments(
    claim: Claim835,
    fees: dict[tuple[str, str], Decimal],
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


# --- routes -----------------------------------------------------------------------------


class FeeScheduleOut(BaseModel):
    fee_schedule_id: uuid.UUID
    payer_id: str
    effective_date: date
    entries: int


def _bad(field: str, message: str) -> ProblemError:
    return ProblemError(
        422,
        "invalid-fee-schedule",
        "The fee schedule cannot be loaded",
        message,
        errors=[FieldError(field=field, rule="format", message=message)],
    )


def parse_fee_schedule(body: bytes, content_type: str) -> list[FeeScheduleEntry]:
    """CSV (header code,modifier,allowed) or JSON ({"entries": [...]} or a list)."""
    raw = body.decode("utf-8-sig", errors="replace")
    rows: list[dict[str, Any]]
    if "json" in content_type:
        try:
            data = json.loads(raw)
        except ValueError:
            raise _bad("body", "The body is not valid JSON.") from None
        rows = data.get("entries", []) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise _bad("body.entries", "Send a list of {code, modifier, allowed}.")
    else:
        reader = csv.DictReader(io.StringIO(raw))
        if not reader.fieldnames or not {"code", "allowed"} <= {f.strip().lower() for f in reader.fieldnames}:
            raise _bad("body", "The CSV needs a header row with code, modifier and allowed.")
        rows = [{k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in reader]
    entries: list[FeeScheduleEntry] = []
    seen: set[tuple[str, str]] = set()
    for n, row in enumerate(rows, start=1):
        try:
            allowed = Decimal(str(row.get("allowed", "")))
            entry = FeeScheduleEntry(
                code=str(row.get("code", "")).upper(),
                modifier=(str(row.get("modifier") or "").upper() or None),
                allowed=allowed.quantize(CENT),
            )
        except (InvalidOperation, ValueError):
            raise _bad(
                f"body.entries[{n}]", f"Row {n}: code (5 characters), modifier (2) and allowed (amount)."
            ) from None
        if entry.allowed < 0:
            raise _bad(f"body.entries[{n}].allowed", f"Row {n}: the allowed amount cannot be negative.")
        key = (entry.code, entry.modifier or "")
        if key in seen:
            raise _bad(f"body.entries[{n}]", f"Row {n}: code and modifier appear twice.")
        seen.add(key)
        entries.append(entry)
    if not entries:
        raise _bad("body", "The fee schedule has no entries.")
    return entries


@router.put(
    "/v1/fee-schedules/{payer_id}",
    response_model=FeeScheduleOut,
    summary="Load a payer's fee schedule (CSV or JSON); publishes fee_schedule.updated",
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "code,modifier,allowed\n99213,,92.50\n",
                },
                "application/json": {"schema": {"type": "object"}},
            }
        }
    },
)
async def put_fee_schedule(
    payer_id: PayerId,
    request: Request,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("fee_schedule", "update", require_scopes("payments:admin"))],
    effective_date: Annotated[date | None, Query()] = None,
) -> FeeScheduleOut:
    entries = parse_fee_schedule(await request.body(), request.headers.get("content-type", ""))
    schedule_id = uuid.uuid4()
    effective = effective_date or date.today()
    now = datetime.now(UTC)
    async with session.begin():
        await session.execute(
            text(
                "INSERT INTO fee_schedules (id, payer_id, effective_date, loaded_by, loaded_at) "
                "VALUES (:id, :p, :e, :by, :now)"
            ),
            {"id": schedule_id, "p": payer_id, "e": effective, "by": trail.actor, "now": now},
        )
        await session.execute(
            text(
                "INSERT INTO fee_schedule_entries (fee_schedule_id, code, modifier, allowed) "
                "VALUES (:id, :code, :mod, :allowed)"
            ),
            [
                {"id": schedule_id, "code": e.code, "mod": e.modifier or "", "allowed": e.allowed}
                for e in entries
            ],
        )
        add_event(
            session,
            new_event(
                FeeScheduleUpdated(
                    payer_id=payer_id, fee_schedule_id=schedule_id, effective_date=effective, entries=entries
                ),
                source=SOURCE,
            ),
        )
    trail.resource_id = str(schedule_id)
    return FeeScheduleOut(
        fee_schedule_id=schedule_id, payer_id=payer_id, effective_date=effective, entries=len(entries)
    )


class UnderpaymentOut(BaseModel):
    id: uuid.UUID
    posting_id: uuid.UUID
    claim_id: uuid.UUID
    payer_id: str
    code: str
    modifier: str
    units: Decimal
    expected_allowed: Decimal
    actual_allowed: Decimal
    variance: Decimal
    detected_at: datetime


@router.get("/v1/underpayments", response_model=list[UnderpaymentOut], summary="Lines paid below contract")
async def list_underpayments(
    session: SessionDep,
    _: Annotated[AuditTrail, audited("underpayment", "list", require_scopes("payments:read"))],
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    claim_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[UnderpaymentOut]:
    rows = (
        await session.execute(
            text(
                "SELECT * FROM underpayments WHERE (CAST(:p AS text) IS NULL OR payer_id = :p) "
                "AND (CAST(:c AS uuid) IS NULL OR claim_id = :c) ORDER BY detected_at DESC LIMIT :n"
            ),
            {"p": payer_id, "c": claim_id, "n": limit},
        )
    ).all()
    return [UnderpaymentOut.model_validate(r, from_attributes=True) for r in rows]
