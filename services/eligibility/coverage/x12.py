"""Reading a payer's 271 (X12 005010X279A1) into `coverage.domain.Response271`, on top of
`shared.x12`: active or not, plan, group, plan type (EB04) and plan number (REF*18), coverage
dates, every benefit row (EB) with its amounts and messages, the other payers on file with
their coordination-of-benefits order, AAA rejections with the reason and the follow-up action
the payer asks for, and the people it names: the subscriber (2100C) and the dependent (2100D)
with address, birth date, relationship and REF*EJ, and the primary care provider (2120C/2120D
NM1*P3 with PRV), read by `demographics.x12`.

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
from services.eligibility.demographics import x12 as people
from services.eligibility.demographics.domain import (
    PLAN_NUMBER,
    PRIMARY_CARE_PROVIDER,
    Demographics,
    Person,
    Provider,
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
    plan_number: str | None = None
    people: Demographics = field(default_factory=Demographics)
    entity: Provider | None = None  # the 2120 entity whose N3/N4/PRV are being read
    notes: list[str] = field(default_factory=list)  # located warnings, never the data

    def hl(self, seg: Segment) -> None:
        self.level = _LEVELS.get(seg.get(3), "unknown")
        self.current, self.in_2120, self.entity = None, False, None
        if self.level == "dependent":
            # The patient is the dependent: what the subscriber level said is not theirs.
            self.benefits, self.coverage_start, self.coverage_end = [], None, None
            self.people.primary_care_provider = None

    def person(self) -> Person | None:
        """The person whose name loop (2100C/2100D) is being read, before its first EB."""
        if self.current is not None:
            return None
        if self.level == "subscriber":
            return self.people.subscriber
        return self.people.dependent if self.level == "dependent" else None

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
            self.entity = None
            if entity == PRIMARY_CARE_PROVIDER:
                self.entity = people.provider(seg)
                self.people.primary_care_provider = self.people.primary_care_provider or self.entity
            elif entity in COB_ORDER or entity == "PR":
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
        elif entity == "IL" and self.level == "subscriber" and current is None:
            self.people.subscriber = people.person(seg)
        elif entity == "03" and self.level == "dependent" and current is None:
            self.people.dependent = people.person(seg)

    def n3(self, seg: Segment) -> None:
        if self.in_2120 and self.entity is not None:
            self.entity.address = people.n3(seg, self.entity.address)
        elif (who := self.person()) is not None:
            who.address = people.n3(seg, who.address)

    def n4(self, seg: Segment) -> None:
        if self.in_2120 and self.entity is not None:
            self.entity.address = people.n4(seg, self.entity.address)
        elif (who := self.person()) is not None:
            who.address = people.n4(seg, who.address)

    def dmg(self, seg: Segment) -> None:
        if (who := self.person()) is not None:
            try:
                people.dmg(seg, who)
            except X12Error as exc:  # a bad birth date does not cost the coverage answer
                self.notes.append(str(exc))

    def prv(self, seg: Segment) -> None:
        if self.in_2120 and self.entity is not None:
            people.prv(seg, self.entity)

    def trn(self, seg: Segment) -> None:
        if self.level in ("subscriber", "dependent") and (seg.get(1) == "2" or self.trace is None):
            self.trace = seg.get(2)

    def ins(self, seg: Segment) -> None:
        if self.level in ("subscriber", "dependent"):
            self.relationship = seg.get(2)
            if (who := self.person()) is not None:
                who.relationship_code = seg.get(2) or None

    def ref(self, seg: Segment) -> None:
        qualifier, value = seg.get(1), seg.get(2)
        if self.current is not None:
            self.current.references[qualifier] = value
            coverage_row = self.current.info_code in ACTIVE_CODES | INACTIVE_CODES
            if qualifier == "6P" and self.current.info_code in ACTIVE_CODES and not self.group_number:
                self.group_number = value or None  # 2110C may carry the group number too
            elif qualifier == PLAN_NUMBER and coverage_row and not self.plan_number:
                self.plan_number = value or None
            return
        if (who := self.person()) is not None and value:
            who.references[qualifier] = value
        if qualifier in ("6P", PLAN_NUMBER) and self.level in ("subscriber", "dependent"):
            if qualifier == "6P":
                self.group_number = value or None
            else:
                self.plan_number = value or None
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
        coverage_rows = [b for b in self.benefits if b.info_code in ACTIVE_CODES | INACTIVE_CODES]
        coverage_row = next((b for b in coverage_rows if b.plan), None)
        plan_type = next((b.insurance_type for b in coverage_rows + self.benefits if b.insurance_type), None)
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
            warnings=warnings + self.notes,
            plan_type=plan_type,
            plan_number=self.plan_number,
            plan_messages=[m for b in coverage_rows for m in b.messages],
            demographics=self.people,
        )


_SEGMENTS: dict[str, Callable[[_Reader, Segment], None]] = {
    "HL": _Reader.hl,
    "EB": _Reader.eb,
    "LS": _Reader.ls,
    "LE": _Reader.le,
    "AAA": _Reader.aaa,
    "NM1": _Reader.nm1,
    "N3": _Reader.n3,
    "N4": _Reader.n4,
    "DMG": _Reader.dmg,
    "PRV": _Reader.prv,
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
