"""The meaning of a coverage answer, without I/O: the X12 code lists a 271 uses, the answer as
plain data (`Response271` and its benefit rows, rejections, other payers, plan type, and the
people it names), the front desk's per-service-type summary (`summarize`), and the JSON a
check keeps in clear (`result_of`; the people are PHI and sealed apart, see `demographics`).

`coverage.x12` reads a 271 into these types; checks store and publish what `result_of` makes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.eligibility.demographics.domain import Demographics, Person, Provider

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
# EB06 periods a cost share is charged per (hospital service types 48/50/86 report their copays
# per admission or per visit, X12 615): the word the summary shows.
PER_PERIODS = {"7": "day", "26": "episode", "27": "visit", "36": "admission"}
ADMISSION = "36"
COB_ORDER = {"PRP": "primary", "SEP": "secondary", "TTP": "tertiary"}
COVERAGE_LEVELS = {"IND": "individual", "FAM": "family", "EMP": "individual", "ESP": "family"}

# EB04 insurance type codes (X12 1336) as the 005010X279A1 guide lists them: the plan type.
# A code list is data (data/insurance_types.json), read once at import.
INSURANCE_TYPES: dict[str, str] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "insurance_types.json").read_text()
)["codes"]


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
    plan_type: str | None = None  # EB04 of the coverage row (else of the plan's other rows)
    plan_number: str | None = None  # REF*18 in 2100C/2100D, or in the coverage row's 2110
    plan_messages: list[str] = field(default_factory=list)  # MSG of the coverage rows
    demographics: Demographics = field(default_factory=Demographics)  # PHI: sealed apart

    @property
    def transient_rejection(self) -> Rejection | None:
        return next((r for r in self.rejections if r.transient), None)

    @property
    def subscriber(self) -> Person | None:
        return self.demographics.subscriber

    @property
    def dependent(self) -> Person | None:
        return self.demographics.dependent

    @property
    def primary_care_provider(self) -> Provider | None:
        return self.demographics.primary_care_provider

    @property
    def patient_account_number(self) -> str | None:
        return self.demographics.patient_account_number


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
    # network -> what the copay is charged per (EB06: visit, admission, day, episode)
    copay_per: dict[str, str] = field(default_factory=dict)
    # network -> a deductible charged per admission (EB01=C with EB06=36), apart from the year's
    deductible_per_admission: dict[str, Decimal] = field(default_factory=dict)


def _percent(fraction: Decimal) -> Decimal:
    return (fraction * 100).quantize(Decimal("0.01")).normalize() + Decimal(0)


def _apply(benefit: Benefit, target: ServiceBenefits) -> None:
    """Fold one EB row into a service type's summary."""
    for in_network in benefit.network_flags():
        net = "in_network" if in_network else "out_of_network"
        code = benefit.info_code
        if code == "C" and benefit.time_period == ADMISSION and benefit.amount is not None:
            target.deductible_per_admission[net] = benefit.amount
            continue
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
            if benefit.time_period in PER_PERIODS:
                target.copay_per[net] = PER_PERIODS[benefit.time_period]
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
    applies to every service type that has none of its own in that network; copays never
    carry over."""
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
            _inherit(summary, general)
        result.append(summary)
    return result


def _inherit(summary: ServiceBenefits, general: ServiceBenefits) -> None:
    """The plan-level rows apply where the service type reported none of its own, network by
    network: office visits' own in-network deductible of 0 (copay-only) does not hide the
    plan's out-of-network deductible, and an own coinsurance of 0% is a coinsurance, not a
    missing one."""
    for book in ("deductible", "out_of_pocket"):
        own, plan = getattr(summary, book), getattr(general, book)
        for net in ("in_network", "out_of_network"):
            if any(net in nets for nets in own.values()):
                continue
            for level, nets in plan.items():
                if net in nets:
                    own.setdefault(level, {})[net] = nets[net]
    for name in ("coinsurance_in_network", "coinsurance_out_of_network"):
        if getattr(summary, name) is None:
            setattr(summary, name, getattr(general, name))


# --- what a check keeps ------------------------------------------------------------------


def _acc_dict(book: dict[str, dict[str, Accumulator]]) -> dict[str, Any]:
    return {level: {net: acc.as_dict() for net, acc in nets.items()} for level, nets in book.items()}


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def result_of(response: Response271, service_type_codes: list[str]) -> dict[str, Any]:
    """The JSON kept in `checks.result` (and shown by the API)."""
    benefits = [
        {
            "service_type_code": s.service_type_code,
            "copay": {"in_network": _s(s.copay_in_network), "out_of_network": _s(s.copay_out_of_network)},
            "coinsurance_percent": {
                "in_network": _s(s.coinsurance_in_network),
                "out_of_network": _s(s.coinsurance_out_of_network),
            },
            "deductible": _acc_dict(s.deductible),
            "out_of_pocket": _acc_dict(s.out_of_pocket),
            "prior_auth_required": s.prior_auth_required,
            "messages": s.messages,
            "copay_per": {net: s.copay_per.get(net) for net in ("in_network", "out_of_network")},
            "deductible_per_admission": {
                net: _s(s.deductible_per_admission.get(net)) for net in ("in_network", "out_of_network")
            },
        }
        for s in summarize(response, service_type_codes)
    ]
    plan_type = response.plan_type
    return {
        "status": response.status,
        "plan_name": response.plan_name,
        "group_number": response.group_number,
        "plan_type": {
            "code": plan_type,
            "description": INSURANCE_TYPES.get(plan_type, "Unknown insurance type"),
        }
        if plan_type
        else None,
        "plan_number": response.plan_number,
        "plan_messages": response.plan_messages,
        "coverage_start": response.coverage_start.isoformat() if response.coverage_start else None,
        "coverage_end": response.coverage_end.isoformat() if response.coverage_end else None,
        "benefits": benefits,
        "other_payers": [
            {"payer_id": p.payer_id, "name": p.name, "order": p.order, "member_id": p.member_id}
            for p in response.other_payers
        ],
        "rejections": [
            {
                "level": r.level,
                "reason_code": r.reason_code,
                "reason": r.reason,
                "follow_up_code": r.follow_up_code,
                "follow_up_action": r.follow_up_action,
                "transient": r.transient,
            }
            for r in response.rejections
        ],
        "warnings": response.warnings,
    }
