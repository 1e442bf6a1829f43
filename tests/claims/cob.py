"""The 837P's coordination-of-benefits balancing rules (ASC X12 005010X222A1), checked on the
text of a claim file; pyx12 checks the syntax and the loops, not the arithmetic.

The rules, paraphrased from the guide's notes on the loops named (not quoted):

- 2300 CLM02: the total claim charge equals the sum of the service lines' charges (SV102).
- 2430 (line adjudication, per service line and payer): the line-level adjustment amounts
  and the paid amount balance to the line: SV102 - SVD02 - sum(that line's 2430 CAS) = 0.
  SVD01 names the payer of a 2330B loop (its NM109), and each 2430 carries its adjudication
  date (DTP*573, required in 2430).
- 2320 (per other payer that adjudicated the claim, AMT*D given): the claim-level and
  line-level adjustments and the payer paid amount balance to the claim charge:
  CLM02 - AMT*D - sum(2320 CAS) - sum(that payer's 2430 CAS) = 0. So an adjustment is
  reported once, at claim level or at line level, never both (295 - 189 - 189 is not 106).
- 2330B DTP*573 (claim check or remittance date) is sent when that payer adjudicated the
  claim and loop 2430 is not used for it; with 2430 the date is the lines'.
- 2320 SBR01 differs from the destination payer's 2000B SBR01 and from the other 2320s'
  (each payer has its own place: P, S, T...).

`cob_errors(text)` returns one sentence per broken rule, empty when the file balances;
`x12_837_errors(text)` adds pyx12's verdict on the syntax and loops, for every 837P a test makes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shared import x12

ZERO = Decimal("0")
# CAS amounts: CAS03, 06, 09, 12, 15, 18 (six reason/amount/quantity triplets).
CAS_AMOUNTS = (3, 6, 9, 12, 15, 18)


@dataclass
class _LinePayer:
    """One 2430 loop: a payer's adjudication of one service line."""

    payer_id: str
    paid: Decimal
    adjustments: Decimal = ZERO
    has_date: bool = False


@dataclass
class _Line:
    number: int
    charge: Decimal = ZERO
    adjudications: list[_LinePayer] = field(default_factory=list)


@dataclass
class _OtherPayer:
    """One 2320 loop with its 2330A/2330B."""

    sequence: str
    paid: Decimal | None = None
    adjustments: Decimal = ZERO
    payer_id: str = ""
    has_remittance_date: bool = False


@dataclass
class _Claim:
    pcn: str
    charge: Decimal
    sequence: str
    others: list[_OtherPayer] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)


def _n(value: Decimal) -> str:
    """An amount as X12 writes it (no trailing zeros), for the messages."""
    return x12.amount(value)


def _cas_total(seg: x12.Segment) -> Decimal:
    return sum((Decimal(seg.get(i)) for i in CAS_AMOUNTS if seg.get(i)), ZERO)


def _claims(text: str) -> list[_Claim]:
    """The claims of every transaction set, with what the balancing rules need of them."""
    claims: list[_Claim] = []
    for transaction in x12.parse(text, expect="837").transactions:
        sequence = ""
        claim: _Claim | None = None
        other: _OtherPayer | None = None
        line: _Line | None = None
        in_2330b = False
        for seg in transaction.segments:
            sid = seg.id
            if sid == "HL":
                claim, other, line = None, None, None
            elif sid == "SBR" and claim is None:
                sequence = seg.get(1)  # 2000B: the destination payer's place
            elif sid == "CLM":
                claim = _Claim(seg.get(1), Decimal(seg.get(2)), sequence)
                claims.append(claim)
                other, line = None, None
            elif claim is None:
                continue
            elif sid == "LX":
                line, other = _Line(int(seg.get(1))), None
                claim.lines.append(line)
            elif line is None and sid == "SBR":
                other, in_2330b = _OtherPayer(seg.get(1)), False
                claim.others.append(other)
            elif line is None and other is not None:
                if sid == "CAS":
                    other.adjustments += _cas_total(seg)
                elif sid == "AMT" and seg.get(1) == "D":
                    other.paid = Decimal(seg.get(2))
                elif sid == "NM1":
                    in_2330b = seg.get(1) == "PR"
                    if in_2330b:
                        other.payer_id = seg.get(9)
                elif sid == "DTP" and seg.get(1) == "573" and in_2330b:
                    other.has_remittance_date = True
            elif line is not None:
                if sid in ("SV1", "SV2"):  # 837P SV102, 837I SV203: the line's charge
                    line.charge = Decimal(seg.get(2 if sid == "SV1" else 3))
                elif sid == "SVD":
                    line.adjudications.append(_LinePayer(seg.get(1), Decimal(seg.get(2))))
                elif sid == "CAS" and line.adjudications:
                    line.adjudications[-1].adjustments += _cas_total(seg)
                elif sid == "DTP" and seg.get(1) == "573" and line.adjudications:
                    line.adjudications[-1].has_date = True
    return claims


def cob_errors(text: str) -> list[str]:
    """Every COB balancing rule of the 837P guide this file breaks (empty: it balances)."""
    errors: list[str] = []
    for claim in _claims(text):
        errors += _claim_errors(claim)
    return errors


def _claim_errors(claim: _Claim) -> list[str]:
    at = f"claim {claim.pcn}"
    errors: list[str] = []
    line_total = sum((line.charge for line in claim.lines), ZERO)
    if claim.charge != line_total:
        errors.append(f"{at}: CLM02 {_n(claim.charge)} is not the sum of the lines' SV102 {_n(line_total)}")
    sequences = [claim.sequence] + [o.sequence for o in claim.others]
    if len(set(sequences)) != len(sequences):
        errors.append(f"{at}: SBR01 repeats among 2000B and the 2320 loops: {sequences}")
    payers = {o.payer_id for o in claim.others}
    for line in claim.lines:
        for payer_id in {a.payer_id for a in line.adjudications}:
            mine = [a for a in line.adjudications if a.payer_id == payer_id]
            paid = sum((a.paid for a in mine), ZERO)
            adjusted = sum((a.adjustments for a in mine), ZERO)
            left = line.charge - paid - adjusted
            if left != 0:
                errors.append(
                    f"{at} line {line.number} payer {payer_id}: SV102 {_n(line.charge)} - SVD02 {_n(paid)}"
                    f" - 2430 CAS {_n(adjusted)} = {_n(left)}, not 0"
                )
            if payer_id not in payers:
                errors.append(f"{at} line {line.number}: SVD01 {payer_id} names no 2330B payer")
            if not all(a.has_date for a in mine):
                errors.append(f"{at} line {line.number} payer {payer_id}: 2430 without DTP*573")
    for other in claim.others:
        errors += _other_payer_errors(at, claim, other)
    return errors


def _other_payer_errors(at: str, claim: _Claim, other: _OtherPayer) -> list[str]:
    """The 2320 rules for one other payer."""
    errors: list[str] = []
    lines = [a for line in claim.lines for a in line.adjudications if a.payer_id == other.payer_id]
    line_adjustments = sum((a.adjustments for a in lines), ZERO)
    if other.paid is None:
        if lines or other.adjustments:
            errors.append(f"{at} payer {other.payer_id}: adjudication (CAS/2430) without AMT*D")
        if other.has_remittance_date:
            errors.append(f"{at} payer {other.payer_id}: 2330B DTP*573 without an adjudication")
        return errors
    left = claim.charge - other.paid - other.adjustments - line_adjustments
    if left != 0:
        errors.append(
            f"{at} payer {other.payer_id}: CLM02 {_n(claim.charge)} - AMT*D {_n(other.paid)}"
            f" - 2320 CAS {_n(other.adjustments)} - 2430 CAS {_n(line_adjustments)} = {_n(left)}, not 0"
        )
    if lines and other.has_remittance_date:
        errors.append(f"{at} payer {other.payer_id}: 2330B DTP*573 sent although 2430 is used")
    if not lines and not other.has_remittance_date:
        errors.append(f"{at} payer {other.payer_id}: adjudicated without 2430 and without 2330B DTP*573")
    return errors


def x12_837_errors(text: str) -> list[str]:
    """pyx12's errors and the COB balancing errors of an 837P or 837I (empty: the file is right).
    pyx12 ships the 5010 837P map for X222A1 only; A2 is an errata of A1 with the same loops
    and segments used here, so the file is relabelled for that check. An 837I (X223A2) needs no
    relabelling: pyx12's maps.xml sends it to its X223A1 map (the 2300-2430 balancing is the same)."""
    from tests.conftest import pyx12_errors  # not at import: the e2e tests import this module too

    return pyx12_errors(text.replace("005010X222A2", "005010X222A1")) + cob_errors(text)
