"""Estimating a visit from a completed check, and keeping the fee schedules payments sends."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.checks.schemas import CheckOut, LevelAccumulators
from services.eligibility.checks.usecases import find_check
from services.eligibility.estimates import store
from services.eligibility.estimates.domain import (
    PLAN_LEVEL,
    SELF_PAY,
    ZERO,
    Allowed,
    Benefits,
    LineIn,
    allowed_from_file,
    allowed_outpatient,
    compute,
    compute_self_pay,
    outpatient_service_type,
)
from services.eligibility.estimates.schemas import EstimateIn
from shared.events.catalogue import FeeScheduleUpdated
from shared.problems import invalid


def load_default_schedule(path: Path, outpatient_rates: Path | None = None) -> dict[str, Any]:
    """The default fee schedule file, read once per app by the service's lifespan, with the
    payers' outpatient rates (per revenue code / HCPCS) under `outpatient`."""
    schedule = json.loads(path.read_text())
    if outpatient_rates is not None:
        schedule["outpatient"] = json.loads(outpatient_rates.read_text())
    return schedule


def default_schedule(request: Request) -> dict[str, Any]:
    """The default fee schedule the service's lifespan read for this app (a route dependency)."""
    return request.app.state.fee_schedule


async def allowed_amount(
    session: AsyncSession, schedule: dict[str, Any], payer_id: str, code: str, modifiers: list[str], on: date
) -> Allowed:
    """Per-unit allowed amount: a received fee schedule first (with the first modifier, then
    without), then the default file (payer, then '*' except for self-pay prices); None when
    nobody knows the code."""
    for modifier in [modifiers[0], ""] if modifiers else [""]:
        row = await store.newest_allowed(session, payer_id, code, modifier, on)
        if row is not None:
            label = f"{code}{'-' + modifier if modifier else ''}"
            kind = "self-pay fee schedule" if payer_id == SELF_PAY else "fee schedule"
            return Allowed(
                Decimal(row["allowed"]),
                f"{kind} {row['fee_schedule_id']} of {payer_id} effective {row['effective_date']} ({label})",
            )
    return allowed_from_file(schedule, payer_id, code, modifiers, any_payer=payer_id != SELF_PAY)


def _remaining(book: LevelAccumulators, net: str) -> Decimal | None:
    """What is left of a deductible or out-of-pocket maximum: the least of the individual's and
    the family's (embedded: the member is done when either is); remaining as reported, else
    total - met, else the total; None when neither level reports it."""
    left: list[Decimal] = []
    for level in (book.individual, book.family):
        acc = getattr(level, net) if level is not None else None
        if acc is None:
            continue
        if acc.remaining is not None:
            left.append(acc.remaining)
        elif acc.total is not None:
            left.append(acc.total - (acc.met or ZERO))
    return min(left) if left else None


def benefits_of(check: CheckOut, code: str, in_network: bool) -> tuple[Benefits, list[str]]:
    """The numbers of one service type (falling back to 30, plan level) and where they came
    from. The check already applied the 271's plan-level rows where the service type reported
    none of its own; a service type with a deductible of its own draws on its own pool."""
    by_code = {b.service_type_code: b for b in check.benefits}
    chosen = by_code.get(code) or by_code.get(PLAN_LEVEL)
    if chosen is None:
        raise invalid(
            ("body.service_type_code", "no_benefits", "No benefits on file."),
            detail=f"The check reported no benefits for service type {code}.",
        )
    net = "in_network" if in_network else "out_of_network"
    plan = by_code.get(PLAN_LEVEL)
    own_deductible = plan is None or _by_level(chosen.deductible, net) != _by_level(plan.deductible, net)
    copay = getattr(chosen.copay, net)
    coins = getattr(chosen.coinsurance_percent, net)
    benefits = Benefits(
        copay=Decimal(copay) if copay is not None else ZERO,
        deductible_remaining=_remaining(chosen.deductible, net) or ZERO,
        coinsurance_percent=Decimal(coins) if coins is not None else Decimal(0),
        out_of_pocket_remaining=_remaining(chosen.out_of_pocket, net),
        service_type=chosen.service_type_code,
        deductible_pool=chosen.service_type_code if own_deductible else PLAN_LEVEL,
    )
    note = (
        f"check {check.id}, service type {chosen.service_type_code}"
        f"{'' if chosen.service_type_code == code else f' (for {code})'}, {net.replace('_', ' ')}: "
        f"copay {benefits.copay}, deductible remaining {benefits.deductible_remaining}"
        f"{' (its own)' if own_deductible and chosen.service_type_code != PLAN_LEVEL else ''}, "
        f"coinsurance {benefits.coinsurance_percent}%, "
        f"out-of-pocket remaining {benefits.out_of_pocket_remaining}"
    )
    return benefits, [note]


def _by_level(book: LevelAccumulators, net: str) -> list[Any]:
    """One network's accumulators of a book (individual, family), to compare two books."""
    return [getattr(level, net) if level is not None else None for level in (book.individual, book.family)]


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


async def _priced_lines(
    session: AsyncSession, schedule: dict[str, Any], payer_id: str, on: date, body: EstimateIn
) -> list[LineIn]:
    lines = []
    for line in body.lines:
        if line.revenue_code:  # an outpatient facility line: the payer's outpatient rates
            allowed = allowed_outpatient(schedule, payer_id, line.revenue_code, line.code)
        else:
            assert line.code is not None  # the schema requires one of the two
            allowed = await allowed_amount(session, schedule, payer_id, line.code, line.modifiers, on)
        lines.append(
            LineIn(
                line.code,
                line.modifiers,
                line.units,
                line.charge,
                allowed.amount,
                allowed.source,
                revenue_code=line.revenue_code,
                percent_of_charge=allowed.percent_of_charge,
            )
        )
    return lines


async def estimate(
    session: AsyncSession, schedule: dict[str, Any], check: CheckOut, body: EstimateIn
) -> dict[str, Any]:
    """The estimate of `body`'s lines with `check`'s benefits, every step written out: each
    line with the benefits of its service type (its own, else the visit's). An outpatient
    facility visit (revenue codes) that names no service type takes 86 (ER) or 50's."""
    if "service_type_code" not in body.model_fields_set:
        visit = outpatient_service_type([line.revenue_code for line in body.lines])
        body = body.model_copy(update={"service_type_code": visit or body.service_type_code})
    benefits, notes = benefits_of(check, body.service_type_code, body.in_network)
    lines = await _priced_lines(session, schedule, check.payer_id, check.date_of_service, body)
    for line, asked in zip(lines, body.lines, strict=True):
        if asked.service_type_code and asked.service_type_code != body.service_type_code:
            line.benefits, more = benefits_of(check, asked.service_type_code, body.in_network)
            notes += [n for n in more if n not in notes]
    return {
        "check_id": str(check.id),
        "self_pay": False,
        "patient_id": check.patient_id,
        "payer_id": check.payer_id,
        "date_of_service": check.date_of_service.isoformat(),
        "service_type_code": body.service_type_code,
        "in_network": body.in_network,
        "benefits_used": notes,
        **compute(lines, benefits),
    }


async def self_pay_estimate(
    session: AsyncSession, schedule: dict[str, Any], body: EstimateIn
) -> dict[str, Any]:
    """A self-pay patient's estimate: the practice's self-pay prices (payer id SELF)."""
    on = body.date_of_service or date.today()
    lines = await _priced_lines(session, schedule, SELF_PAY, on, body)
    return {
        "check_id": None,
        "self_pay": True,
        "patient_id": body.patient_id,
        "payer_id": SELF_PAY,
        "date_of_service": on.isoformat(),
        "service_type_code": None,
        "in_network": None,
        "benefits_used": [f"self-pay: the practice's self-pay fee schedule (payer id {SELF_PAY})"],
        **compute_self_pay(lines),
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
