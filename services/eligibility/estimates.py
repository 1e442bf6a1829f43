"""Patient estimates: what the patient will likely owe for a visit, with the arithmetic shown.

Inputs are the verified benefits of a completed check (copay, deductible remaining,
coinsurance and out-of-pocket remaining for a service type and network) and the payer's
allowed amounts. Allowed amounts come from `fee_schedule.updated` events (this service
keeps its own copy, newest effective date on or before the date of service wins), and from
the default fee schedule file (data/fee_schedule.json) for what no event has covered yet.

The model, applied in line order so each step can be checked by hand:
  allowed(line)  = min(charge, allowed amount per unit x units)
  copay          = the service type's copay, once per visit, taken from the first lines
  deductible     = what is left of the allowed amount after copay, up to the deductible remaining
  coinsurance    = coinsurance % x (allowed - copay - deductible), rounded half-up to the cent
  patient share  = copay + deductible + coinsurance, capped by the out-of-pocket remaining
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.checks import check_out, load_check
from services.eligibility.runtime import runtime
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.events.catalogue import FeeScheduleUpdated
from shared.events.envelope import Event
from shared.problems import invalid

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- allowed amounts ---------------------------------------------------------------------


@lru_cache(maxsize=4)
def default_schedule(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@dataclass(frozen=True)
class Allowed:
    amount: Decimal | None
    source: str


async def allowed_amount(
    session: AsyncSession, schedule_file: Path, payer_id: str, code: str, modifiers: list[str], on: date
) -> Allowed:
    """Per-unit allowed amount: a received fee schedule first (with the first modifier, then
    without), then the default file (payer, then '*'); None when nobody knows the code."""
    tries = [modifiers[0], ""] if modifiers else [""]
    for modifier in tries:
        row = (
            (
                await session.execute(
                    text(
                        "SELECT allowed, fee_schedule_id, effective_date FROM fee_schedule_entries "
                        "WHERE payer_id = :p AND code = :c AND modifier = :m AND effective_date <= :on "
                        "ORDER BY effective_date DESC LIMIT 1"
                    ),
                    {"p": payer_id, "c": code, "m": modifier, "on": on},
                )
            )
            .mappings()
            .one_or_none()
        )
        if row is not None:
            label = f"{code}{'-' + modifier if modifier else ''}"
            return Allowed(
                Decimal(row["allowed"]),
                f"fee schedule {row['fee_schedule_id']} of {payer_id} "
                f"effective {row['effective_date']} ({label})",
            )
    payers = default_schedule(schedule_file)["payers"]
    for who in (payer_id, "*"):
        table = payers.get(who, {})
        for modifier in tries:
            key = f"{code}:{modifier}" if modifier else code
            if key in table:
                return Allowed(
                    Decimal(table[key]), f"default fee schedule ({'any payer' if who == '*' else who})"
                )
    return Allowed(None, "no allowed amount on file: the charge is used")


# --- the arithmetic ----------------------------------------------------------------------


@dataclass
class Benefits:
    copay: Decimal
    deductible_remaining: Decimal
    coinsurance_percent: Decimal
    out_of_pocket_remaining: Decimal | None


@dataclass
class LineIn:
    code: str
    modifiers: list[str]
    units: int
    charge: Decimal
    allowed_per_unit: Decimal | None
    allowed_source: str


def compute(lines: list[LineIn], benefits: Benefits) -> dict[str, Any]:
    """The estimate, line by line, each step written out. Pure, so it is tested by hand."""
    copay_left = benefits.copay
    deductible_left = benefits.deductible_remaining
    rate = benefits.coinsurance_percent / Decimal(100)
    out_lines: list[dict[str, Any]] = []
    totals = {"charge": ZERO, "allowed": ZERO, "copay": ZERO, "deductible": ZERO, "coinsurance": ZERO}
    for number, line in enumerate(lines, start=1):
        steps: list[str] = []
        if line.allowed_per_unit is None:
            allowed = cents(line.charge)
            steps.append(f"allowed = charge {line.charge} ({line.allowed_source})")
        else:
            by_schedule = cents(line.allowed_per_unit * line.units)
            allowed = min(by_schedule, cents(line.charge))
            steps.append(
                f"allowed = min(charge {line.charge}, {line.allowed_per_unit} x {line.units} unit(s) = "
                f"{by_schedule}) = {allowed} [{line.allowed_source}]"
            )
        copay = min(copay_left, allowed)
        copay_left -= copay
        steps.append(f"copay = min(copay left {copay + copay_left}, allowed {allowed}) = {copay}")
        after_copay = allowed - copay
        deductible = min(deductible_left, after_copay)
        steps.append(
            f"deductible = min(deductible remaining {deductible_left}, {allowed} - {copay} = {after_copay}) "
            f"= {deductible}"
        )
        deductible_left -= deductible
        base = after_copay - deductible
        coinsurance = cents(base * rate)
        steps.append(
            f"coinsurance = {benefits.coinsurance_percent}% x ({after_copay} - {deductible} = {base}) "
            f"= {coinsurance}"
        )
        share = copay + deductible + coinsurance
        steps.append(f"patient share = {copay} + {deductible} + {coinsurance} = {share}")
        out_lines.append(
            {
                "line": number,
                "code": line.code,
                "modifiers": line.modifiers,
                "units": line.units,
                "charge": str(cents(line.charge)),
                "allowed": str(allowed),
                "copay": str(copay),
                "deductible": str(deductible),
                "coinsurance": str(coinsurance),
                "patient_share": str(share),
                "payer_share": str(allowed - share),
                "steps": steps,
            }
        )
        totals["charge"] += cents(line.charge)
        totals["allowed"] += allowed
        totals["copay"] += copay
        totals["deductible"] += deductible
        totals["coinsurance"] += coinsurance
    subtotal = totals["copay"] + totals["deductible"] + totals["coinsurance"]
    summary = [
        f"patient subtotal = copay {totals['copay']} + deductible {totals['deductible']} + "
        f"coinsurance {totals['coinsurance']} = {subtotal}"
    ]
    patient = subtotal
    if benefits.out_of_pocket_remaining is not None and subtotal > benefits.out_of_pocket_remaining:
        patient = benefits.out_of_pocket_remaining
        summary.append(f"capped by out-of-pocket remaining {benefits.out_of_pocket_remaining}: {patient}")
    summary.append(f"payer = allowed {totals['allowed']} - patient {patient} = {totals['allowed'] - patient}")
    return {
        "lines": out_lines,
        "totals": {k: str(v) for k, v in totals.items()},
        "patient_responsibility": str(patient),
        "payer_responsibility": str(totals["allowed"] - patient),
        "deductible_remaining_after": str(deductible_left),
        "steps": summary,
    }


# --- API ---------------------------------------------------------------------------------


class EstimateLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9]{5}$", description="CPT/HCPCS code.")
    modifiers: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]] = Field(
        default_factory=list, max_length=4
    )
    units: int = Field(default=1, ge=1, le=999)
    charge: Decimal = Field(gt=0, max_digits=12, decimal_places=2)


class EstimateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check_id: uuid.UUID = Field(description="A completed coverage check whose benefits to use.")
    service_type_code: str = Field(default="30", pattern=r"^[A-Z0-9]{1,2}$")
    in_network: bool = True
    lines: list[EstimateLine] = Field(min_length=1, max_length=50)


router = APIRouter(prefix="/v1/estimates", tags=["estimates"])


def _benefits(check: Any, code: str, in_network: bool) -> tuple[Benefits, list[str]]:
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


@router.post("", summary="Estimate what the patient will owe, with the arithmetic line by line")
async def create_estimate(
    request: Request,
    body: EstimateIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("estimate", "create", require_scopes("eligibility:read"))],
) -> dict[str, Any]:
    row = await load_check(session, body.check_id)
    if row is None:
        raise invalid(
            ("body.check_id", "not_found", "No check with this id."), detail="No such coverage check."
        )
    check = check_out(row)
    trail.patient_id, trail.resource_id = check.patient_id, str(check.id)
    if check.state != "done" or check.status != "active":
        raise invalid(
            ("body.check_id", "coverage_not_active", "Coverage not verified."),
            detail="Estimates need a check whose payer answered: active.",
        )
    benefits, notes = _benefits(check, body.service_type_code, body.in_network)
    schedule = runtime(request.app).settings.fee_schedule_file
    lines = []
    for line in body.lines:
        allowed = await allowed_amount(
            session, schedule, check.payer_id, line.code, line.modifiers, check.date_of_service
        )
        lines.append(
            LineIn(line.code, line.modifiers, line.units, line.charge, allowed.amount, allowed.source)
        )
    result = compute(lines, benefits)
    return {
        "check_id": str(check.id),
        "patient_id": check.patient_id,
        "payer_id": check.payer_id,
        "service_type_code": body.service_type_code,
        "in_network": body.in_network,
        "benefits_used": notes,
        **result,
    }


# --- fee_schedule.updated ----------------------------------------------------------------


async def on_fee_schedule_updated(session: AsyncSession, event: Event) -> None:
    """Keep our copy of a payer's allowed amounts (one row per code, modifier and effective
    date; a repeat of the same schedule overwrites itself)."""
    data = event.data
    assert isinstance(data, FeeScheduleUpdated)
    if not data.entries:
        return
    await session.execute(
        text(
            "INSERT INTO fee_schedule_entries "
            "(payer_id, code, modifier, effective_date, allowed, fee_schedule_id) "
            "VALUES (:p, :c, :m, :d, :a, :f) ON CONFLICT (payer_id, code, modifier, effective_date) "
            "DO UPDATE SET allowed = EXCLUDED.allowed, fee_schedule_id = EXCLUDED.fee_schedule_id, "
            "received_at = clock_timestamp()"
        ),
        [
            {
                "p": data.payer_id,
                "c": e.code,
                "m": e.modifier or "",
                "d": data.effective_date,
                "a": e.allowed,
                "f": data.fee_schedule_id,
            }
            for e in data.entries
        ],
    )
