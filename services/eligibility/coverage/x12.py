"""Reading a payer's 271 (X12 005010X279A1) into `coverage.domain.Response271`, on top of
`shared.x12`: active or not, plan and group, coverage dates, every benefit row (EB) with its
amounts, the other payers on file with their coordination-of-benefits order, and AAA
rejections with the reason and the follow-up action the payer asks for.

Syntax errors surface as located `X12Error`s from shared.x12 and never quote the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass
class _Reader:
    """What the 271 said so far, as its segments are read in order (one method per segment)."""

    repetition: str
    level: str = "payer"  # the HL level the segments belong to
    payer_id: str = ""
    payer_name: str = ""
    trace: str | None = None
    plan_name: str | None = None
    group_number: str | None = None
    relationship: str | None = None
    coverage_start: date | None = None
    coverage_end: date | None = None
    benefits: list[Benefit] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    other_payers: list[OtherPayerInfo] = field(default_factory=list)
    current: Benefit | None = None  # the EB whose 2110 loop is being read
    in_2120: bool = False  # inside its LS/LE (2120: benefit related entities)

    def hl(self, seg: Segment) -> None:
        self.level = _LEVELS.get(seg.get(3), "unknown")
        self.current, self.in_2120 = None, False
        if self.level == "dependent":
            # The patient is the dependent: what the subscriber level said is not theirs.
            self.benefits, self.coverage_start, self.coverage_end = [], None, None

    def eb(self, seg: Segment) -> None:
        self.current, self.in_2120 = _benefit(seg, self.repetition), False
        self.benefits.append(self.current)

    def ls(self, seg: Segment) -> None:
        self.in_2120 = True

    def le(self, seg: Segment) -> None:
        self.in_2120 = False

    def aaa(self, seg: Segment) -> None:
        self.rejections.append(_rejection(seg, "benefit" if self.current is not None else self.level))

    def nm1(self, seg: Segment) -> None:
        entity, current = seg.get(1), self.current
        if self.in_2120 and current is not None:
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
                    self.other_payers.append(info)
            return
        if entity == "PR" and self.level == "payer":
            self.payer_id, self.payer_name = seg.get(9), seg.get(3)

    def trn(self, seg: Segment) -> None:
        if self.level in ("subscriber", "dependent") and (seg.get(1) == "2" or self.trace is None):
            self.trace = seg.get(2)

    def ins(self, seg: Segment) -> None:
        if self.level in ("subscriber", "dependent"):
            self.relationship = seg.get(2)

    def ref(self, seg: Segment) -> None:
        if self.current is not None:
            self.current.references[seg.get(1)] = seg.get(2)
            if seg.get(1) == "6P" and self.current.info_code in ACTIVE_CODES and not self.group_number:
                self.group_number = seg.get(2) or None  # 2110C may carry the group number too
        elif seg.get(1) == "6P" and self.level in ("subscriber", "dependent"):
            self.group_number = seg.get(2) or None
            if not self.plan_name and seg.get(3):
                self.plan_name = seg.get(3)

    def dtp(self, seg: Segment) -> None:
        if self.current is not None or self.level not in ("subscriber", "dependent"):
            return
        qualifier = seg.get(1)
        start, end = _dates(seg)
        if qualifier in ("346", "356"):
            self.coverage_start = start
        elif qualifier in ("347", "357"):
            self.coverage_end = end
        elif qualifier in ("291", "307"):
            self.coverage_start = self.coverage_start or start
            if seg.get(2) == "RD8":
                self.coverage_end = self.coverage_end or end

    def msg(self, seg: Segment) -> None:
        if self.current is not None:
            self.current.messages.append(seg.get(1))

    def response(self, warnings: list[str]) -> Response271:
        """The answer once every segment is read."""
        if not self.payer_id:
            raise X12Error("the 271 names no payer (NM1*PR in loop 2100A)", segment="NM1")
        info_codes = {b.info_code for b in self.benefits}
        if info_codes & ACTIVE_CODES:
            status = "active"
        elif info_codes & INACTIVE_CODES:
            status = "inactive"
        else:
            status = "error"
        coverage_row = next(
            (b for b in self.benefits if b.info_code in ACTIVE_CODES | INACTIVE_CODES and b.plan), None
        )
        return Response271(
            trace_number=self.trace,
            payer_id=self.payer_id,
            payer_name=self.payer_name,
            status=status,
            plan_name=coverage_row.plan if coverage_row is not None else self.plan_name,
            group_number=self.group_number,
            coverage_start=self.coverage_start,
            coverage_end=self.coverage_end,
            relationship_code=self.relationship,
            benefits=self.benefits,
            rejections=self.rejections,
            other_payers=self.other_payers,
            warnings=warnings,
        )


_SEGMENTS: dict[str, Callable[[_Reader, Segment], None]] = {
    "HL": _Reader.hl,
    "EB": _Reader.eb,
    "LS": _Reader.ls,
    "LE": _Reader.le,
    "AAA": _Reader.aaa,
    "NM1": _Reader.nm1,
    "TRN": _Reader.trn,
    "INS": _Reader.ins,
    "REF": _Reader.ref,
    "DTP": _Reader.dtp,
    "MSG": _Reader.msg,
}


def parse_271(text: str, *, strict: bool = True) -> Response271:
    """Read the first 271 of an interchange. With `strict=False`, envelope control-number
    mismatches become `warnings` (located, without data) instead of errors."""
    inter = x12.parse(text, expect="271", strict=strict)
    reader = _Reader(inter.delimiters.repetition)
    for seg in inter.transactions[0].segments:
        read = _SEGMENTS.get(seg.id)
        if read is not None:
            read(reader, seg)
    return reader.response([str(w) for w in inter.warnings])
