"""What a 270 inquiry and a 271 response mean (X12 005010X279A1), on top of `shared.x12`.

`build_270` writes the inquiry a payer expects for one patient (who is the subscriber) and
one or more service type codes. `parse_271` reads the payer's answer into plain data:
active or not, plan and group, coverage dates, every benefit row (EB) with its amounts,
the other payers on file with their coordination-of-benefits order, and AAA rejections with
the reason and the follow-up action the payer asks for. `summarize` folds the benefit rows
into what the front desk asks per service type (copay, coinsurance, deductible and
out-of-pocket, individual and family, in and out of network, total and remaining).

Syntax errors surface as located `X12Error`s from shared.x12 and never quote the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from shared import x12
from shared.x12 import Segment, X12Error

VERSION = "005010X279A1"

# AAA03: why the payer could not answer (X12 901), and AAA04: what to do next (X12 889).
REJECT_REASONS: dict[str, str] = {
    "04": "Authorized quantity exceeded",
    "15": "Required application data missing",
    "33": "Input errors",
    "35": "Out of network",
    "41": "Authorization/access restrictions",
    "42": "Unable to respond at current time",
    "43": "Invalid/missing provider identification",
    "44": "Invalid/missing provider name",
    "45": "Invalid/missing provider specialty",
    "46": "Invalid/missing provider phone number",
    "47": "Invalid/missing provider state",
    "48": "Invalid/missing referring provider identification number",
    "49": "Provider is not primary care physician",
    "50": "Provider ineligible for inquiries",
    "51": "Provider not on file",
    "52": "Service dates not within provider plan enrollment",
    "53": "Inquired benefit inconsistent with provider type",
    "54": "Inappropriate product/service ID qualifier",
    "55": "Inappropriate product/service ID",
    "56": "Inappropriate date",
    "57": "Invalid/missing date(s) of service",
    "58": "Invalid/missing date-of-birth",
    "60": "Date of birth follows date(s) of service",
    "61": "Date of death precedes date(s) of service",
    "62": "Date of service not within allowable inquiry period",
    "63": "Date of service in future",
    "64": "Invalid/missing patient ID",
    "65": "Invalid/missing patient name",
    "66": "Invalid/missing patient gender code",
    "67": "Patient not found",
    "68": "Duplicate patient ID number",
    "69": "Inconsistent with patient's age",
    "70": "Inconsistent with patient's gender",
    "71": "Patient birth date does not match that for the patient on the database",
    "72": "Invalid/missing subscriber/insured ID",
    "73": "Invalid/missing subscriber/insured name",
    "74": "Invalid/missing subscriber/insured gender code",
    "75": "Subscriber/insured not found",
    "76": "Duplicate subscriber/insured ID number",
    "77": "Subscriber found, patient not found",
    "78": "Subscriber/insured not in group/plan identified",
    "79": "Invalid participant identification",
    "80": "No response received - transaction terminated",
    "97": "Invalid or missing provider address",
    "T4": "Payer name or identifier missing",
}

FOLLOW_UP_ACTIONS: dict[str, str] = {
    "C": "Correct the request and resubmit",
    "N": "Do not resubmit; the inquiry cannot be answered",
    "P": "Resubmit the original transaction",
    "R": "Resubmission allowed",
    "S": "Do not resubmit; the payer asked a third party",
    "W": "Wait 30 days and resubmit",
    "X": "Wait 10 days and resubmit",
    "Y": "Do not resubmit; the payer will respond later",
}

# Reasons that mean "try again later", not "fix the request".
TRANSIENT_REJECTIONS = frozenset({"42", "80"})

ACTIVE_CODES = frozenset({"1", "2", "3", "4", "5"})
INACTIVE_CODES = frozenset({"6", "7", "8"})
# EB06 time periods that mean "what is left" rather than "the total for the period".
REMAINING_PERIODS = frozenset({"29"})
MET_PERIODS = frozenset({"24"})  # year to date
COB_ORDER = {"PRP": "primary", "SEP": "secondary", "TTP": "tertiary"}
COVERAGE_LEVELS = {"IND": "individual", "FAM": "family", "EMP": "individual", "ESP": "family"}


# --- 270 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inquiry:
    """One patient (the subscriber) asked about at one payer."""

    payer_id: str
    payer_name: str
    provider_npi: str
    provider_name: str
    member_id: str
    first_name: str
    last_name: str
    birth_date: date
    date_of_service: date
    service_type_codes: tuple[str, ...]
    trace_number: str


def build_270(
    inquiry: Inquiry,
    *,
    sender_id: str,
    control_number: int,
    now: datetime | None = None,
    usage: str = "P",
) -> str:
    """The full interchange (ISA..IEA) of one 270 inquiry for `inquiry`."""
    now = now or datetime.now()
    body = [
        x12.seg("BHT", "0022", "13", inquiry.trace_number[:50], x12.d8(now), now.strftime("%H%M")),
        x12.seg("HL", "1", "", "20", "1"),
        x12.seg("NM1", "PR", "2", x12.clean(inquiry.payer_name, 60), "", "", "", "", "PI", inquiry.payer_id),
        x12.seg("HL", "2", "1", "21", "1"),
        x12.seg(
            "NM1", "1P", "2", x12.clean(inquiry.provider_name, 60), "", "", "", "", "XX", inquiry.provider_npi
        ),
        x12.seg("HL", "3", "2", "22", "0"),
        x12.seg("TRN", "1", inquiry.trace_number[:50], "9" + sender_id[:9].rjust(9, "0")),
        x12.seg(
            "NM1",
            "IL",
            "1",
            x12.clean(inquiry.last_name, 60),
            x12.clean(inquiry.first_name, 35),
            "",
            "",
            "",
            "MI",
            x12.clean(inquiry.member_id, 80),
        ),
        x12.seg("DMG", "D8", x12.d8(inquiry.birth_date)),
        x12.seg("DTP", "291", "D8", x12.d8(inquiry.date_of_service)),
    ]
    body += [x12.seg("EQ", code) for code in inquiry.service_type_codes]
    return x12.build(
        [body],
        transaction_code="270",
        functional_id="HS",
        version=VERSION,
        sender_id=sender_id,
        receiver_id=inquiry.payer_id,
        control_number=control_number,
        now=now,
        usage=usage,
    )


# --- 271 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """An AAA segment: the payer could not (fully) answer."""

    level: str  # "payer", "receiver", "subscriber", "dependent" or "benefit"
    valid_request: bool
    reason_code: str
    reason: str
    follow_up_code: str
    follow_up_action: str

    @property
    def transient(self) -> bool:
        return self.reason_code in TRANSIENT_REJECTIONS


@dataclass(frozen=True)
class OtherPayerInfo:
    payer_id: str
    name: str
    order: str | None  # primary, secondary, tertiary, or None when the 271 does not say
    member_id: str | None = None


@dataclass
class Benefit:
    """One EB segment with the segments of its 2110 loop."""

    info_code: str  # EB01: 1 active, 6 inactive, A coinsurance, B copay, C deductible, G out of pocket...
    coverage_level: str  # EB02: IND, FAM, ...
    service_types: tuple[str, ...]  # EB03
    insurance_type: str  # EB04
    plan: str  # EB05
    time_period: str  # EB06: 29 remaining, 23 calendar year, 27 visit...
    amount: Decimal | None  # EB07
    percent: Decimal | None  # EB08, as a fraction (0.2 = 20%)
    auth_required: str  # EB11: Y, N, U
    in_network: str  # EB12: Y, N, W (not applicable: both), U
    procedure: tuple[str, ...] = ()  # EB13 composite (qualifier, code, modifiers...)
    messages: list[str] = field(default_factory=list)
    related: list[OtherPayerInfo] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)

    def network_flags(self) -> tuple[bool, ...]:
        """Which network this row applies to: (True,), (False,), or both."""
        if self.in_network == "Y":
            return (True,)
        if self.in_network == "N":
            return (False,)
        return (True, False)


@dataclass
class Response271:
    """What the payer said about one patient."""

    trace_number: str | None
    payer_id: str
    payer_name: str
    status: str  # active, inactive, error
    plan_name: str | None
    group_number: str | None
    coverage_start: date | None
    coverage_end: date | None
    relationship_code: str | None
    benefits: list[Benefit]
    rejections: list[Rejection]
    other_payers: list[OtherPayerInfo]
    warnings: list[str]

    @property
    def transient_rejection(self) -> Rejection | None:
        return next((r for r in self.rejections if r.transient), None)


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


# --- the front desk's view ---------------------------------------------------------------


@dataclass
class Accumulator:
    """A deductible or out-of-pocket maximum for one coverage level and network."""

    total: Decimal | None = None
    met: Decimal | None = None
    remaining: Decimal | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {k: None if v is None else str(v) for k, v in vars(self).items()}


@dataclass
class ServiceBenefits:
    """Benefits of one service type code, as a billing specialist reads them."""

    service_type_code: str
    copay_in_network: Decimal | None = None
    copay_out_of_network: Decimal | None = None
    coinsurance_in_network: Decimal | None = None  # percent, e.g. 20
    coinsurance_out_of_network: Decimal | None = None
    # [level][network] -> Accumulator, level in individual/family, network in in/out
    deductible: dict[str, dict[str, Accumulator]] = field(default_factory=dict)
    out_of_pocket: dict[str, dict[str, Accumulator]] = field(default_factory=dict)
    prior_auth_required: bool = False
    messages: list[str] = field(default_factory=list)


def _percent(fraction: Decimal) -> Decimal:
    return (fraction * 100).quantize(Decimal("0.01")).normalize() + Decimal(0)


def _apply(benefit: Benefit, target: ServiceBenefits) -> None:
    """Fold one EB row into a service type's summary."""
    for in_network in benefit.network_flags():
        net = "in_network" if in_network else "out_of_network"
        code = benefit.info_code
        if code in ("C", "G") and benefit.amount is not None:
            level = COVERAGE_LEVELS.get(benefit.coverage_level or "IND", "individual")
            book = target.deductible if code == "C" else target.out_of_pocket
            acc = book.setdefault(level, {}).setdefault(net, Accumulator())
            if benefit.time_period in REMAINING_PERIODS:
                acc.remaining = benefit.amount
            elif benefit.time_period in MET_PERIODS:
                acc.met = benefit.amount
            else:
                acc.total = benefit.amount
            continue
        if code == "B" and benefit.amount is not None:
            if in_network:
                target.copay_in_network = benefit.amount
            else:
                target.copay_out_of_network = benefit.amount
        elif code == "A" and benefit.percent is not None:
            if in_network:
                target.coinsurance_in_network = _percent(benefit.percent)
            else:
                target.coinsurance_out_of_network = _percent(benefit.percent)
    if benefit.auth_required == "Y":
        target.prior_auth_required = True
    target.messages.extend(m for m in benefit.messages if m not in target.messages)


def summarize(response: Response271, service_type_codes: Iterable[str]) -> list[ServiceBenefits]:
    """Per service type: copay, coinsurance, deductible and OOP (individual/family, in/out of
    network, total/met/remaining) and prior auth. What the payer reported for the plan as a
    whole (service type 30, or no service type) — deductible, out-of-pocket and coinsurance —
    applies to every service type that has none of its own; copays never carry over."""
    codes = list(dict.fromkeys(service_type_codes))
    for benefit in response.benefits:
        if benefit.info_code in ("A", "B", "C", "G") or benefit.auth_required == "Y":
            codes.extend(c for c in benefit.service_types if c not in codes)
    general = ServiceBenefits("30")
    for benefit in response.benefits:
        if not benefit.service_types or "30" in benefit.service_types:
            _apply(benefit, general)
    result = []
    for code in codes:
        summary = ServiceBenefits(code)
        for benefit in response.benefits:
            if code in benefit.service_types:
                _apply(benefit, summary)
        if code != "30":
            for name in (
                "deductible",
                "out_of_pocket",
                "coinsurance_in_network",
                "coinsurance_out_of_network",
            ):
                if not getattr(summary, name):
                    setattr(summary, name, getattr(general, name))
        result.append(summary)
    return result
