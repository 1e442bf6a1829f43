"""The estimate's arithmetic, without I/O, so each step can be checked by hand.

The benefits are those the 271 reports for the line's service type (EB03) and network (EB12):
copay (EB01=B), deductible (C) and coinsurance (A), each the service type's own rows where the
payer reported some, else the plan-level ones (30). A copay-only service type is one whose own
rows say deductible 0 and coinsurance 0. Applied in line order, with Decimal, half-up to the cent:

  allowed(line)  = min(charge, allowed amount per unit x units)
  copay          = the service type's copay, once per service type per visit
  deductible     = what is left of the allowed amount after the copay, up to the deductible
                   remaining (the least of the individual's and the family's: an embedded
                   family deductible), shared by the lines that draw on the same deductible
  coinsurance    = coinsurance % x (allowed - copay - deductible)
  out-of-pocket  = the out-of-pocket remaining caps copay, then deductible, then coinsurance,
                   line by line (copays count toward the maximum, 45 CFR 155.20, 156.130)
  patient share  = copay + deductible + coinsurance after the cap

Self-pay: the practice's self-pay price, min(charge, price x units), or the charge when the
self-pay schedule has no price for the code; nobody else shares it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The payer id the practice's self-pay fee schedule is loaded under (PUT /v1/fee-schedules/SELF
# on payments, then `fee_schedule.updated`; data/fee_schedule.json's "SELF" until then).
SELF_PAY = "SELF"
PLAN_LEVEL = "30"


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Allowed:
    """A per-unit allowed amount (None: nobody knows the code) and where it came from."""

    amount: Decimal | None
    source: str
    # an outpatient line priced at a percent of its charge (amount None then)
    percent_of_charge: Decimal | None = None


def allowed_from_file(
    schedule: dict[str, Any], payer_id: str, code: str, modifiers: list[str], *, any_payer: bool = True
) -> Allowed:
    """The default fee schedule file's amount: the payer's, then any payer's ('*', unless
    `any_payer` is off, as for self-pay prices); with the first modifier, then without."""
    tries = [modifiers[0], ""] if modifiers else [""]
    payers = schedule["payers"]
    for who in (payer_id, "*") if any_payer else (payer_id,):
        table = payers.get(who, {})
        for modifier in tries:
            key = f"{code}:{modifier}" if modifier else code
            if key in table:
                return Allowed(
                    Decimal(table[key]), f"default fee schedule ({'any payer' if who == '*' else who})"
                )
    if payer_id == SELF_PAY:
        return Allowed(None, "no self-pay price on file: the charge is used")
    return Allowed(None, "no allowed amount on file: the charge is used")


# Service types of an outpatient facility visit (X12 1365): emergency services when a line is
# in the emergency room's revenue codes (NUBC 045X), else hospital outpatient.
EMERGENCY, HOSPITAL_OUTPATIENT = "86", "50"


def outpatient_service_type(revenue_codes: list[str | None]) -> str | None:
    """The service type whose benefits an outpatient facility visit takes (86 for an ER visit,
    else 50); None when no line has a revenue code (a professional visit)."""
    codes = [c for c in revenue_codes if c]
    if not codes:
        return None
    return EMERGENCY if any(c.startswith("045") for c in codes) else HOSPITAL_OUTPATIENT


def allowed_outpatient(
    schedule: dict[str, Any], payer_id: str, revenue_code: str, hcpcs: str | None
) -> Allowed:
    """An outpatient facility line's allowed amount as the payer's outpatient rates give it
    (data/outpatient_rates.json, under `outpatient` in the schedule): by its HCPCS in the
    payer's fee schedule (per unit), else by its revenue code (a percent of the charge, or
    packaged into the visit: nothing on its own), else the payer's default percent of charge."""
    rates = schedule.get("outpatient", {}).get("payers", {}).get(payer_id)
    if rates is None:
        return Allowed(None, "no outpatient rates on file: the charge is used")
    if hcpcs and hcpcs in rates.get("fee_schedule", {}):
        return Allowed(
            Decimal(rates["fee_schedule"][hcpcs]), f"outpatient fee schedule of {payer_id} ({hcpcs})"
        )
    rate = rates.get("revenue_codes", {}).get(revenue_code) or {}
    if "adjust" in rate:
        why = rate["adjust"]
        return Allowed(
            ZERO,
            f"revenue code {revenue_code} is paid with the visit "
            f"({why['group']}-{why['reason']}) [{payer_id}]",
        )
    percent = rate.get("percent_of_charge") or rates.get("default_percent_of_charge")
    if percent is None:
        return Allowed(None, "no outpatient rate on file: the charge is used")
    where = f"revenue code {revenue_code}" if "percent_of_charge" in rate else "default"
    return Allowed(None, f"outpatient rates of {payer_id} ({where})", percent_of_charge=Decimal(percent))


@dataclass
class Benefits:
    """One service type's benefits in one network, as the check reported them."""

    copay: Decimal
    deductible_remaining: Decimal
    coinsurance_percent: Decimal
    out_of_pocket_remaining: Decimal | None
    service_type: str = PLAN_LEVEL
    # Which deductible the service type draws on: the plan's (30) or one of its own.
    deductible_pool: str = PLAN_LEVEL


@dataclass
class LineIn:
    code: str | None  # CPT/HCPCS; None on an outpatient line with a revenue code alone
    modifiers: list[str]
    units: int
    charge: Decimal
    allowed_per_unit: Decimal | None
    allowed_source: str
    benefits: Benefits | None = None  # the line's service type's; None: the visit's
    revenue_code: str | None = None  # an outpatient facility line (UB-04 FL 42)
    percent_of_charge: Decimal | None = None  # its allowed amount is this percent of the charge


@dataclass
class _Left:
    """What the visit has used up as the lines go: copays taken (per service type), what is
    left of each deductible, and of the out-of-pocket maximum (None: not reported)."""

    out_of_pocket: Decimal | None
    copays_taken: set[str] = field(default_factory=set)
    deductibles: dict[str, Decimal] = field(default_factory=dict)


def _allowed(line: LineIn, label: str = "allowed") -> tuple[Decimal, str]:
    if line.percent_of_charge is not None:
        allowed = cents(line.charge * line.percent_of_charge / Decimal(100))
        return allowed, (
            f"{label} = {line.percent_of_charge}% of charge {line.charge} = {allowed} [{line.allowed_source}]"
        )
    if line.allowed_per_unit is None:
        allowed = cents(line.charge)
        return allowed, f"{label} = charge {line.charge} ({line.allowed_source})"
    by_schedule = cents(line.allowed_per_unit * line.units)
    allowed = min(by_schedule, cents(line.charge))
    return allowed, (
        f"{label} = min(charge {line.charge}, {line.allowed_per_unit} x {line.units} unit(s) = "
        f"{by_schedule}) = {allowed} [{line.allowed_source}]"
    )


def _copay(b: Benefits, allowed: Decimal, left: _Left, steps: list[str]) -> Decimal:
    if b.copay <= 0:
        steps.append(f"copay = 0.00 (none for service type {b.service_type})")
        return ZERO
    if b.service_type in left.copays_taken:
        steps.append(f"copay = 0.00 (service type {b.service_type}'s copay is already taken on this visit)")
        return ZERO
    left.copays_taken.add(b.service_type)
    copay = min(b.copay, allowed)
    steps.append(
        f"copay = min(copay {b.copay} of service type {b.service_type}, allowed {allowed}) = {copay}"
    )
    return copay


def _cap(shares: list[Decimal], left: _Left, steps: list[str]) -> list[Decimal]:
    """The out-of-pocket maximum takes copay, deductible and coinsurance in that order."""
    if left.out_of_pocket is None:
        return shares
    before = left.out_of_pocket
    capped = []
    for amount in shares:
        take = min(amount, left.out_of_pocket)
        left.out_of_pocket -= take
        capped.append(take)
    if capped != shares:
        names = ("copay", "deductible", "coinsurance")
        changed = ", ".join(
            f"{n} {a} -> {c}" for n, a, c in zip(names, shares, capped, strict=True) if a != c
        )
        steps.append(f"out-of-pocket remaining {before} caps the shares: {changed}")
    return capped


def _line(number: int, line: LineIn, b: Benefits, left: _Left) -> dict[str, Any]:
    """One line's shares, each step written out; uses up `left`."""
    allowed, step = _allowed(line)
    steps = [step]
    copay = _copay(b, allowed, left, steps)
    after_copay = allowed - copay
    pool = left.deductibles.setdefault(b.deductible_pool, b.deductible_remaining)
    deductible = min(pool, after_copay)
    steps.append(
        f"deductible = min(deductible remaining {pool}, {allowed} - {copay} = {after_copay}) = {deductible}"
    )
    left.deductibles[b.deductible_pool] = pool - deductible
    base = after_copay - deductible
    coinsurance = cents(base * (b.coinsurance_percent / Decimal(100)))
    steps.append(
        f"coinsurance = {b.coinsurance_percent}% x ({after_copay} - {deductible} = {base}) = {coinsurance}"
    )
    copay, deductible, coinsurance = _cap([copay, deductible, coinsurance], left, steps)
    share = copay + deductible + coinsurance
    steps.append(f"patient share = {copay} + {deductible} + {coinsurance} = {share}")
    return _line_out(number, line, allowed, (copay, deductible, coinsurance), share, steps)


def _line_out(
    number: int,
    line: LineIn,
    allowed: Decimal,
    parts: tuple[Decimal, Decimal, Decimal],
    share: Decimal,
    steps: list[str],
) -> dict[str, Any]:
    copay, deductible, coinsurance = parts
    return {
        "line": number,
        "code": line.code,
        "revenue_code": line.revenue_code,
        "modifiers": line.modifiers,
        "units": line.units,
        "service_type_code": line.benefits.service_type if line.benefits else None,
        "charge": str(cents(line.charge)),
        "allowed": str(allowed),
        "copay": str(copay),
        "deductible": str(deductible),
        "coinsurance": str(coinsurance),
        "patient_share": str(share),
        "payer_share": str(allowed - share),
        "steps": steps,
    }


def _totals(out_lines: list[dict[str, Any]]) -> dict[str, Decimal]:
    return {
        name: sum((Decimal(line[name]) for line in out_lines), ZERO)
        for name in ("charge", "allowed", "copay", "deductible", "coinsurance", "patient_share")
    }


def compute(lines: list[LineIn], benefits: Benefits) -> dict[str, Any]:
    """The estimate, line by line, each step written out. Pure, so it is tested by hand.
    `benefits` are the visit's; a line with benefits of its own (its service type) uses those."""
    left = _Left(benefits.out_of_pocket_remaining)
    out_lines = [_line(n, line, line.benefits or benefits, left) for n, line in enumerate(lines, start=1)]
    totals = _totals(out_lines)
    patient = totals.pop("patient_share")
    summary = [
        f"patient = copay {totals['copay']} + deductible {totals['deductible']} + "
        f"coinsurance {totals['coinsurance']} = {patient}",
        f"payer = allowed {totals['allowed']} - patient {patient} = {totals['allowed'] - patient}",
    ]
    after = left.deductibles.get(benefits.deductible_pool, benefits.deductible_remaining)
    return {
        "lines": out_lines,
        "totals": {k: str(v) for k, v in totals.items()},
        "patient_responsibility": str(patient),
        "payer_responsibility": str(totals["allowed"] - patient),
        "deductible_remaining_after": str(after),
        "steps": summary,
    }


def compute_self_pay(lines: list[LineIn]) -> dict[str, Any]:
    """A self-pay visit: each line's self-pay price is the patient's share; no payer shares it."""
    out_lines = []
    for n, line in enumerate(lines, start=1):
        price, step = _allowed(line, "self-pay price")
        steps = [step, f"patient share = self-pay price {price}"]
        out_lines.append(_line_out(n, line, price, (ZERO, ZERO, ZERO), price, steps))
    totals = _totals(out_lines)
    patient = totals.pop("patient_share")
    return {
        "lines": out_lines,
        "totals": {k: str(v) for k, v in totals.items()},
        "patient_responsibility": str(patient),
        "payer_responsibility": str(ZERO),
        "deductible_remaining_after": None,
        "steps": [f"patient = self-pay prices {totals['allowed']}", "payer = none (self-pay)"],
    }
