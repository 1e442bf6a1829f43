"""The estimate's arithmetic, without I/O, so each step can be checked by hand.

The model, applied in line order:
  allowed(line)  = min(charge, allowed amount per unit x units)
  copay          = the service type's copay, once per visit, taken from the first lines
  deductible     = what is left of the allowed amount after copay, up to the deductible remaining
  coinsurance    = coinsurance % x (allowed - copay - deductible), rounded half-up to the cent
  patient share  = copay + deductible + coinsurance, capped by the out-of-pocket remaining
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Allowed:
    """A per-unit allowed amount (None: nobody knows the code) and where it came from."""

    amount: Decimal | None
    source: str


def allowed_from_file(schedule: dict[str, Any], payer_id: str, code: str, modifiers: list[str]) -> Allowed:
    """The default fee schedule file's amount: the payer's, then any payer's ('*'); with the
    first modifier, then without."""
    tries = [modifiers[0], ""] if modifiers else [""]
    payers = schedule["payers"]
    for who in (payer_id, "*"):
        table = payers.get(who, {})
        for modifier in tries:
            key = f"{code}:{modifier}" if modifier else code
            if key in table:
                return Allowed(
                    Decimal(table[key]), f"default fee schedule ({'any payer' if who == '*' else who})"
                )
    return Allowed(None, "no allowed amount on file: the charge is used")


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


@dataclass
class _Left:
    """What is left of the visit's copay and the deductible as the lines use them up."""

    copay: Decimal
    deductible: Decimal


def _line(number: int, line: LineIn, left: _Left, coinsurance_percent: Decimal) -> dict[str, Any]:
    """One line's shares, each step written out; uses up `left`."""
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
    copay = min(left.copay, allowed)
    left.copay -= copay
    steps.append(f"copay = min(copay left {copay + left.copay}, allowed {allowed}) = {copay}")
    after_copay = allowed - copay
    deductible = min(left.deductible, after_copay)
    steps.append(
        f"deductible = min(deductible remaining {left.deductible}, {allowed} - {copay} = {after_copay}) "
        f"= {deductible}"
    )
    left.deductible -= deductible
    base = after_copay - deductible
    coinsurance = cents(base * (coinsurance_percent / Decimal(100)))
    steps.append(
        f"coinsurance = {coinsurance_percent}% x ({after_copay} - {deductible} = {base}) = {coinsurance}"
    )
    share = copay + deductible + coinsurance
    steps.append(f"patient share = {copay} + {deductible} + {coinsurance} = {share}")
    return {
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


def compute(lines: list[LineIn], benefits: Benefits) -> dict[str, Any]:
    """The estimate, line by line, each step written out. Pure, so it is tested by hand."""
    left = _Left(benefits.copay, benefits.deductible_remaining)
    out_lines = [_line(n, line, left, benefits.coinsurance_percent) for n, line in enumerate(lines, start=1)]
    totals = {
        name: sum((Decimal(line[name]) for line in out_lines), ZERO)
        for name in ("charge", "allowed", "copay", "deductible", "coinsurance")
    }
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
        "deductible_remaining_after": str(left.deductible),
        "steps": summary,
    }
