"""Institutional rules without I/O: the 835's inpatient (MIA) and outpatient (MOA) adjudication
as read, the contract's view of them for `payment.posted`, and which line of our claim each
835 service line answers (a facility's lines may have no CPT/HCPCS code, only a revenue code)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from shared.events.institutional import (
    CLAIM_TYPES,
    REVENUE_CODE_PATTERN,
    ClaimType,
    InpatientAdjudication,
    OutpatientAdjudication,
)

REVENUE_CODE = re.compile(REVENUE_CODE_PATTERN)


@dataclass
class Mia835:
    """835 loop 2100 MIA (inpatient adjudication). Every element is read; the ones the next
    payer's 837I 2320 MIA and the posting views need have names, the others are kept by
    element (`MIA02`, `MIA03`, ...) so nothing the payer said is lost."""

    covered_days: Decimal  # MIA01
    drg_amount: Decimal | None = None  # MIA04
    capital_amount: Decimal | None = None  # MIA08: PPS capital amount
    remark_codes: list[str] = field(default_factory=list)  # MIA05, MIA20-23
    other: dict[str, Decimal] = field(default_factory=dict)  # MIA02, 03, 06, 07, 09-19, 24

    def contract(self) -> InpatientAdjudication:
        return InpatientAdjudication(
            covered_days=self.covered_days,
            drg_amount=self.drg_amount,
            capital_amount=self.capital_amount,
            remark_codes=self.remark_codes[:5],
        )


@dataclass
class Moa835:
    """835 loop 2100 MOA (outpatient adjudication): MOA01 reimbursement rate (a percentage),
    MOA02 HCPCS payable amount, MOA03-07 remark codes; MOA08 (ESRD payment) and MOA09
    (non-payable professional component) kept by element."""

    reimbursement_rate: Decimal | None = None
    hcpcs_payable_amount: Decimal | None = None
    remark_codes: list[str] = field(default_factory=list)
    other: dict[str, Decimal] = field(default_factory=dict)

    def contract(self) -> OutpatientAdjudication:
        return OutpatientAdjudication(
            reimbursement_rate=self.reimbursement_rate,
            hcpcs_payable_amount=self.hcpcs_payable_amount,
            remark_codes=self.remark_codes[:5],
        )


def revenue_code(raw: str) -> str | None:
    """A NUBC revenue code as the contract spells it (four digits, leading 0); a payer's
    three-digit one gets its 0 back; anything else is not a revenue code."""
    code = raw.strip()
    if re.fullmatch(r"[0-9]{3}", code):
        code = "0" + code
    return code if REVENUE_CODE.match(code) else None


def claim_type_of(value: Any) -> ClaimType:
    """A stored claim type (absent on claims kept before issue 20: professional)."""
    return "institutional" if value == "institutional" else "professional"


@dataclass(frozen=True)
class PaidLine:
    """What an 835 service line offers to find its claim line: REF*6R, the procedure (HC) or
    revenue code (NU), SVC04, the charge and DTM*472."""

    control_number: str | None
    qualifier: str
    code: str
    revenue_code: str | None
    charge: Decimal
    service_date: date | None


@dataclass(frozen=True)
class BilledLine:
    """One line of our claim as `claim.submitted` summarised it."""

    line_number: int
    code: str | None
    revenue_code: str | None
    charge: Decimal
    date_of_service: date | None


def billed_lines(lines: Sequence[dict[str, Any]]) -> list[BilledLine]:
    """The claim copy's `lines` (JSON of ClaimLineSummary) as BilledLine."""
    return [
        BilledLine(
            int(line["line_number"]),
            line.get("code"),
            line.get("revenue_code"),
            Decimal(str(line["charge"])),
            date.fromisoformat(line["date_of_service"]) if line.get("date_of_service") else None,
        )
        for line in lines
    ]


def _procedure(paid: PaidLine) -> str | None:
    """The HCPCS/CPT the 835 line adjudicated, if any (an `NU` line has only a revenue code)."""
    return paid.code if paid.qualifier in ("HC", "HP") and paid.code else None


def _revenue(paid: PaidLine) -> str | None:
    return revenue_code(paid.code) if paid.qualifier == "NU" else paid.revenue_code


def _same(paid: PaidLine, billed: BilledLine, *, on_date: bool) -> bool:
    """Same revenue code (when both say one) and HCPCS (none on either side for `NU` lines),
    and, when asked and both say one, the same date."""
    rev, code = _revenue(paid), _procedure(paid)
    if rev and billed.revenue_code and rev != billed.revenue_code:
        return False
    if not (rev and billed.revenue_code) and code is None:
        return False  # nothing to compare: an NU line with a bad revenue code
    if (code or None) != (billed.code or None):
        return False
    day = paid.service_date
    return not on_date or day is None or billed.date_of_service is None or day == billed.date_of_service


def place_lines(paid: Sequence[PaidLine], billed: Sequence[BilledLine]) -> list[int | None]:
    """Our claim's line (its number) that each 835 line answers, or None: the line item
    control number we sent, when the payer echoes it (loop 2110 REF*6R); else the first line
    not yet answered with the same revenue code and HCPCS on the same date (SVC01, SVC04,
    DTM*472), preferring the same charge; else the same codes on any date. Works for lines
    with no CPT/HCPCS (revenue code only) as for professional ones (HCPCS only)."""
    numbers = {b.line_number: b for b in billed}
    used: set[int] = set()
    placed: list[int | None] = []
    for line in paid:
        ref = (line.control_number or "").strip()
        n = int(ref) if ref.isdigit() and int(ref) in numbers and int(ref) not in used else None
        for on_date in (True, False):
            if n is not None:
                break
            free = [b for b in billed if b.line_number not in used and _same(line, b, on_date=on_date)]
            pick = next((b for b in free if b.charge == line.charge), free[0] if free else None)
            n = pick.line_number if pick is not None else None
        if n is not None:
            used.add(n)
        placed.append(n)
    return placed


def split_by_type(rows: Sequence[Any], fields: Sequence[str]) -> dict[ClaimType, dict[str, Decimal]]:
    """Report sums per claim type from rows with a `claim_type` column (None: not a claim's
    money, e.g. a self-pay charge; left out of the split)."""
    zero = Decimal("0.00")
    out: dict[ClaimType, dict[str, Decimal]] = {t: dict.fromkeys(fields, zero) for t in CLAIM_TYPES}
    for row in rows:
        if row.claim_type is None:
            continue
        sums = out[claim_type_of(row.claim_type)]
        for name in fields:
            sums[name] += Decimal(getattr(row, name))
    return out
