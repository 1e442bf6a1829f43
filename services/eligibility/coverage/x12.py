"""Reading a payer's 271 (X12 005010X279A1) into `coverage.domain.Response271`, on top of
`shared.x12`: active or not, plan and group, coverage dates, every benefit row (EB) with its
amounts, the other payers on file with their coordination-of-benefits order, and AAA
rejections with the reason and the follow-up action the payer asks for.

Syntax errors surface as located `X12Error`s from shared.x12 and never quote the data.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from services.eligibility.coverage.domain import (
    ACTIVE_CODES,
    COB_ORDER,
    FOLLOW_UP_ACTIONS,
    INACTIVE_CODES,
    REJECT_REASONS,
    Benefit,
    OtherPayerInfo,
    Rejection,
    Response271,
)
from shared import x12
from shared.x12 import Segment, X12Error

_LEVELS = {"20": "payer", "21": "receiver", "22": "subscriber", "23": "dependent"}


def _rejection(seg: Segment, level: str) -> Rejection:
    reason_code, follow_up = seg.get(3), seg.get(4)
    return Rejection(
        level=level,
        valid_request=seg.get(1) == "Y",
        reason_code=reason_code,
        reason=REJECT_REASONS.get(reason_code, "Unknown reason"),
        follow_up_code=follow_up,
        follow_up_action=FOLLOW_UP_ACTIONS.get(follow_up, "Contact the payer"),
    )


def _dates(seg: Segment) -> tuple[date | None, date | None]:
    """DTP03 as (start, end): D8 is one day, RD8 a range."""
    fmt, raw = seg.get(2), seg.get(3)
    if fmt == "D8":
        day = x12.read_d8(seg, 3)
        return day, day
    if fmt == "RD8":
        first, _, last = raw.partition("-")
        try:
            return (
                datetime.strptime(first, "%Y%m%d").date(),
                datetime.strptime(last, "%Y%m%d").date(),
            )
        except ValueError:
            raise seg.error("not a CCYYMMDD-CCYYMMDD range", 3) from None
    return None, None


def _cents(value: Decimal | None) -> Decimal | None:
    """Money as the API and events show it: two decimals ("25.00", not X12's "25")."""
    return None if value is None else value.quantize(Decimal("0.01"))


def _benefit(seg: Segment, repetition: str) -> Benefit:
    percent = x12.read_amount(seg, 8, required=False)
    if percent is not None and percent > 1:
        raise seg.error("a percent must be a fraction between 0 and 1", 8)
    return Benefit(
        info_code=seg.get(1),
        coverage_level=seg.get(2),
        service_types=tuple(c for c in seg.get(3).split(repetition) if c),
        insurance_type=seg.get(4),
        plan=seg.get(5),
        time_period=seg.get(6),
        amount=_cents(x12.read_amount(seg, 7, required=False)),
        percent=percent,
        auth_required=seg.get(11),
        in_network=seg.get(12),
        procedure=tuple(seg.components(13)) if seg.get(13) else (),
    )


def parse_271(text: str, *, strict: bool = True) -> Response271:
    """Read the first 271 of an interchange. With `strict=False`, envelope control-number
    mismatches become `warnings` (located, without data) instead of errors."""
    inter = x12.parse(text, expect="271", strict=strict)
    transaction = inter.transactions[0]
    warnings = [str(w) for w in inter.warnings]
    repetition = inter.delimiters.repetition

    level = "payer"
    payer_id = payer_name = ""
    trace: str | None = None
    plan_name = group_number = relationship = None
    coverage_start: date | None = None
    coverage_end: date | None = None
    benefits: list[Benefit] = []
    rejections: list[Rejection] = []
    other_payers: list[OtherPayerInfo] = []
    current: Benefit | None = None
    in_2120 = False

    for seg in transaction.segments:
        sid = seg.id
        if sid == "HL":
            level = _LEVELS.get(seg.get(3), "unknown")
            current, in_2120 = None, False
            if level == "dependent":
                # The patient is the dependent: what the subscriber level said is not theirs.
                benefits, coverage_start, coverage_end = [], None, None
            continue
        if sid == "BHT":
            continue
        if sid == "EB":
            current, in_2120 = _benefit(seg, repetition), False
            benefits.append(current)
            continue
        if sid == "LS":
            in_2120 = True
            continue
        if sid == "LE":
            in_2120 = False
            continue
        if sid == "AAA":
            rejections.append(_rejection(seg, "benefit" if current is not None else level))
            continue
        if sid == "NM1":
            entity = seg.get(1)
            if in_2120 and current is not None:
                if entity in COB_ORDER or entity == "PR":
                    info = OtherPayerInfo(
                        payer_id=seg.get(9),
                        name=seg.get(3),
                        order=COB_ORDER.get(entity),
                        member_id=next(
                            (current.references[q] for q in ("1W", "IG", "18") if q in current.references),
                            None,
                        ),
                    )
                    current.related.append(info)
                    if current.info_code == "R":
                        other_payers.append(info)
                continue
            if entity == "PR" and level == "payer":
                payer_id, payer_name = seg.get(9), seg.get(3)
            continue
        if sid == "TRN" and level in ("subscriber", "dependent"):
            if seg.get(1) == "2" or trace is None:
                trace = seg.get(2)
            continue
        if sid == "INS" and level in ("subscriber", "dependent"):
            relationship = seg.get(2)
            continue
        if sid == "REF":
            if current is not None:
                current.references[seg.get(1)] = seg.get(2)
                if seg.get(1) == "6P" and current.info_code in ACTIVE_CODES and not group_number:
                    group_number = seg.get(2) or None  # 2110C may carry the group number too
            elif seg.get(1) == "6P" and level in ("subscriber", "dependent"):
                group_number = seg.get(2) or None
                if not plan_name and seg.get(3):
                    plan_name = seg.get(3)
            continue
        if sid == "DTP" and current is None and level in ("subscriber", "dependent"):
            qualifier = seg.get(1)
            start, end = _dates(seg)
            if qualifier in ("346", "356"):
                coverage_start = start
            elif qualifier in ("347", "357"):
                coverage_end = end
            elif qualifier in ("291", "307"):
                coverage_start = coverage_start or start
                if seg.get(2) == "RD8":
                    coverage_end = coverage_end or end
            continue
        if sid == "MSG" and current is not None:
            current.messages.append(seg.get(1))
            continue

    if not payer_id:
        raise X12Error("the 271 names no payer (NM1*PR in loop 2100A)", segment="NM1")
    info_codes = {b.info_code for b in benefits}
    if info_codes & ACTIVE_CODES:
        status = "active"
    elif info_codes & INACTIVE_CODES:
        status = "inactive"
    else:
        status = "error"
    coverage_row = next(
        (b for b in benefits if b.info_code in ACTIVE_CODES | INACTIVE_CODES and b.plan), None
    )
    if coverage_row is not None:
        plan_name = coverage_row.plan
    return Response271(
        trace_number=trace,
        payer_id=payer_id,
        payer_name=payer_name,
        status=status,
        plan_name=plan_name,
        group_number=group_number,
        coverage_start=coverage_start,
        coverage_end=coverage_end,
        relationship_code=relationship,
        benefits=benefits,
        rejections=rejections,
        other_payers=other_payers,
        warnings=warnings,
    )
