"""Estimating a visit from a completed check, and keeping the fee schedules payments sends."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.checks.schemas import CheckOut
from services.eligibility.checks.usecases import find_check
from services.eligibility.estimates import store
from services.eligibility.estimates.domain import ZERO, Allowed, Benefits, LineIn, allowed_from_file, compute
from services.eligibility.estimates.schemas import EstimateIn
from shared.events.catalogue import FeeScheduleUpdated
from shared.problems import invalid


def load_default_schedule(path: Path) -> dict[str, Any]:
    """The default fee schedule file, read once per app by the service's lifespan."""
    return json.loads(path.read_text())


def default_schedule(request: Request) -> dict[str, Any]:
    """The default fee schedule the service's lifespan read for this app (a route dependency)."""
    return request.app.state.fee_schedule


async def allowed_amount(
    session: AsyncSession, schedule: dict[str, Any], payer_id: str, code: str, modifiers: list[str], on: date
) -> Allowed:
    """Per-unit allowed amount: a received fee schedule first (with the first modifier, then
    without), then the default file (payer, then '*'); None when nobody knows the code."""
    for modifier in [modifiers[0], ""] if modifiers else [""]:
        row = await store.newest_allowed(session, payer_id, code, modifier, on)
        if row is not None:
            label = f"{code}{'-' + modifier if modifier else ''}"
            return Allowed(
                Decimal(row["allowed"]),
                f"fee schedule {row['fee_schedule_id']} of {payer_id} "
                f"effective {row['effective_date']} ({label})",
            )
    return allowed_from_file(schedule, payer_id, code, modifiers)


def benefits_of(check: CheckOut, code: str, in_network: bool) -> tuple[Benefits, list[str]]:
    """The numbers of one service type (falling back to 30, plan level) and where they came from."""
    by_code = {b.service_type_code: b for b in check.benefits}
    chosen = by_code.get(code) or by_code.get("30")
    if chosen is None:
        raise invalid(
            ("body.service_type_code", "no_benefits", "No benefits on file."),
            detail="The check reported no benefits for this service type.",
        )
    net = "in_network" if in_network else "out_of_network"
    notes = [
        f"benefits of check {check.id}, service type {chosen.service_type_code}, {net.replace('_', ' ')}"
    ]

    def acc(book: Any) -> Any:
        level = book.individual
        return getattr(level, net) if level is not None else None

    ded = acc(chosen.deductible)
    oop = acc(chosen.out_of_pocket)
    copay = getattr(chosen.copay, net)
    coins = getattr(chosen.coinsurance_percent, net)
    benefits = Benefits(
        copay=Decimal(copay) if copay is not None else ZERO,
        deductible_remaining=Decimal(ded.remaining)
        if ded is not None and ded.remaining is not None
        else ZERO,
        coinsurance_percent=Decimal(coins) if coins is not None else Decimal(0),
        out_of_pocket_remaining=Decimal(oop.remaining)
        if oop is not None and oop.remaining is not None
        else None,
    )
    notes.append(
        f"copay {benefits.copay}, deductible remaining {benefits.deductible_remaining}, coinsurance "
        f"{benefits.coinsurance_percent}%, out-of-pocket remaining {benefits.out_of_pocket_remaining}"
    )
    return benefits, notes


async def verified_check(session: AsyncSession, check_id: Any) -> CheckOut:
    """The check an estimate uses; 422 when there is none or its payer did not answer active."""
    check = await find_check(session, check_id)
    if check is None:
        raise invalid(
            ("body.check_id", "not_found", "No check with this id."), detail="No such coverage check."
        )
    return check


def require_active(check: CheckOut) -> None:
    if check.state != "done" or check.status != "active":
        raise invalid(
            ("body.check_id", "coverage_not_active", "Coverage not verified."),
            detail="Estimates need a check whose payer answered: active.",
        )


async def estimate(
    session: AsyncSession, schedule: dict[str, Any], check: CheckOut, body: EstimateIn
) -> dict[str, Any]:
    """The estimate of `body`'s lines with `check`'s benefits, every step written out."""
    benefits, notes = benefits_of(check, body.service_type_code, body.in_network)
    lines = []
    for line in body.lines:
        allowed = await allowed_amount(
            session, schedule, check.payer_id, line.code, line.modifiers, check.date_of_service
        )
        lines.append(
            LineIn(line.code, line.modifiers, line.units, line.charge, allowed.amount, allowed.source)
        )
    return {
        "check_id": str(check.id),
        "patient_id": check.patient_id,
        "payer_id": check.payer_id,
        "service_type_code": body.service_type_code,
        "in_network": body.in_network,
        "benefits_used": notes,
        **compute(lines, benefits),
    }


async def keep_fee_schedule(session: AsyncSession, data: FeeScheduleUpdated) -> None:
    """Our copy of a payer's allowed amounts (one row per code, modifier and effective date;
    a repeat of the same schedule overwrites itself)."""
    if not data.entries:
        return
    rows = [
        {
            "p": data.payer_id,
            "c": e.code,
            "m": e.modifier or "",
            "d": data.effective_date,
            "a": e.allowed,
            "f": data.fee_schedule_id,
        }
        for e in data.entries
    ]
    await store.upsert_entries(session, rows)
