"""The sandbox's data files: the eligibility scenario table and the payers' rules.

Both are JSON under `data/` so that the scenarios and the rules are data, not code, and
so that other parts' tests can read the expected values from the same file the sandbox
answers from. This module only loads and resolves them (references such as
`"benefits": "SBX10001"` and member-id patterns); it holds no behaviour.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
SCENARIOS_FILE = DATA_DIR / "scenarios.json"
PAYERS_FILE = DATA_DIR / "payers.json"

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Accumulator:
    total: Decimal
    met: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class HospitalShare:
    """A hospital service type's cost share: a deductible per admission (271 EB*C with EB06
    36) or the plan's calendar-year deductible, coinsurance, and a copay per visit."""

    deductible_per_admission: Decimal | None
    year_deductible: bool
    coinsurance_percent: Decimal
    copay: Decimal

    @property
    def copay_only(self) -> bool:
        """The copay is all the patient pays (no deductible, no coinsurance)."""
        return self.deductible_per_admission is None and not self.year_deductible


@dataclass(frozen=True)
class NetworkBenefits:
    """What the 271 reports for one network tier, and what adjudication applies.

    A service type with a copay is copay-only (no deductible or coinsurance on it) unless it
    is in `cost_share_after_copay`: then the deductible and the coinsurance apply to what is
    left of the allowed amount after the copay."""

    coinsurance_percent: Decimal
    copays: dict[str, Decimal]
    deductible_individual: Accumulator
    deductible_family: Accumulator
    oop_individual: Accumulator
    oop_family: Accumulator
    cost_share_after_copay: frozenset[str] = frozenset()
    # Hospital service types (48 inpatient, 50 outpatient): their own cost share, when the
    # plan has one (`hospital_share` resolves it; the 271 and adjudication both read it).
    hospital: dict[str, dict[str, str]] = field(default_factory=dict)

    def hospital_share(self, service_type: str) -> HospitalShare:
        """What the patient pays for a hospital service type (48, 50, 86): a copay-only type
        pays its copay; otherwise the type's deductible per admission (else the plan's
        calendar-year deductible) and its coinsurance (else the plan's)."""
        copay = self.copays.get(service_type, ZERO)
        if self.copay_only(service_type):
            return HospitalShare(None, False, Decimal(0), copay)
        entry = self.hospital.get(service_type, {})
        per_admission = entry.get("deductible_per_admission")
        return HospitalShare(
            deductible_per_admission=_money(per_admission) if per_admission is not None else None,
            year_deductible=per_admission is None,
            coinsurance_percent=Decimal(str(entry.get("coinsurance_percent", self.coinsurance_percent))),
            copay=copay,
        )

    def copay_only(self, service_type: str) -> bool:
        """Whether the service type's copay is all the patient pays for it (before the
        out-of-pocket maximum)."""
        return self.copays.get(service_type, ZERO) > 0 and service_type not in self.cost_share_after_copay

    @property
    def deductible_remaining(self) -> Decimal:
        """The deductible still owed on a claim: the individual one, capped by the family's."""
        return min(self.deductible_individual.remaining, self.deductible_family.remaining)

    @property
    def oop_remaining(self) -> Decimal:
        return min(self.oop_individual.remaining, self.oop_family.remaining)


@dataclass(frozen=True)
class Aaa:
    code: str
    loop: str  # "2100A" (payer level) or "2100C" (subscriber level)
    follow_up: str
    transient: bool


@dataclass(frozen=True)
class OtherPayer:
    payer_id: str
    name: str
    order: str
    member_id: str | None


@dataclass(frozen=True)
class Scenario:
    member_id: str
    scenario: str
    payer_id: str
    http_status: int
    delay_ms: int | None
    aaa: Aaa | None
    subscriber: dict[str, Any] | None  # names, birth_date, gender, address (N3/N4)
    status: str | None
    plan: dict[str, Any] | None  # name, group_number, insurance_type, plan_number, messages
    coverage_start: date | None
    coverage_end: date | None
    service_types: list[str]
    in_network: NetworkBenefits | None
    out_of_network: NetworkBenefits | None
    prior_auth_required_service_types: list[str]
    prior_auth_codes: list[str]
    other_payers: list[OtherPayer]
    # Dependents without an id of their own (answered in 2000D when a 270 asks about one).
    dependents: list[dict[str, str]] = field(default_factory=list)
    primary_care_provider: dict[str, str] | None = None  # EB*L, 2120C NM1*P3 with PRV

    def dependent(self, first_name: str, birth_date: str) -> dict[str, str] | None:
        """The dependent a 270's 2100D names: same first name and birth date (CCYYMMDD), as
        payers search for dependents."""
        for dep in self.dependents:
            if dep["first_name"] == first_name.upper() and dep["birth_date"].replace("-", "") == birth_date:
                return dep
        return None

    def active_on(self, day: date) -> bool:
        """Whether the coverage covers `day`: status active and inside the coverage dates."""
        if self.status != "active":
            return False
        if self.coverage_start and day < self.coverage_start:
            return False
        return not (self.coverage_end and day > self.coverage_end)


@dataclass(frozen=True)
class BundlingPair:
    column1: str
    column2: str
    modifier_allowed: bool


@dataclass(frozen=True)
class PayerRules:
    payer_id: str
    name: str
    kind: str
    claim_filing_indicator: str
    timely_filing_days: int
    default_allowed_percent: Decimal
    prior_auth_codes: frozenset[str]
    non_covered_codes: frozenset[str]
    bundling_pairs: list[BundlingPair]
    bypass_modifiers: frozenset[str]
    random_denial_share: Decimal
    random_denial_group: str
    random_denial_reason: str
    remittance_mode: str  # "immediate" | "batched"
    cycle_seconds: float
    payment_method: str
    fee_schedule: dict[tuple[str, str | None], Decimal]

    def allowed_per_unit(self, code: str, modifiers: list[str]) -> Decimal | None:
        """The contracted amount for a code: a code+modifier entry wins over the bare code."""
        for modifier in modifiers:
            if (code, modifier) in self.fee_schedule:
                return self.fee_schedule[(code, modifier)]
        return self.fee_schedule.get((code, None))


@dataclass(frozen=True)
class Tables:
    """Everything loaded from the data files."""

    members: dict[str, Scenario]
    patterns: list[tuple[re.Pattern[str], str]]
    member_id_format: re.Pattern[str]
    slow_delay_ms: int
    malformed_aaa: str
    unknown_aaa: str
    payers: dict[str, PayerRules]
    service_type_ranges: list[tuple[str, str, str]]
    default_service_type: str
    payee_name: str
    payee_default_npi: str
    remark_codes: dict[str, str] = field(default_factory=dict)  # CARC of a line denial -> RARC

    def scenario(self, member_id: str) -> Scenario | None:
        """The scenario for a member id: exact entry, else a pattern's model renamed."""
        if member_id in self.members:
            return self.members[member_id]
        for pattern, like in self.patterns:
            if pattern.fullmatch(member_id):
                return replace(self.members[like], member_id=member_id)
        return None

    def well_formed(self, member_id: str) -> bool:
        return bool(member_id) and bool(self.member_id_format.fullmatch(member_id))

    def service_type(self, code: str) -> str:
        """The X12 service type a procedure code falls under (copays are per service type)."""
        for low, high, service_type in self.service_type_ranges:
            if low <= code <= high and len(code) == len(low):
                return service_type
        return self.default_service_type

    def payer(self, payer_id: str) -> PayerRules | None:
        return self.payers.get(payer_id)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _acc(raw: dict[str, Any]) -> Accumulator:
    return Accumulator(_money(raw["total"]), _money(raw["met"]), _money(raw["remaining"]))


def _network(raw: dict[str, Any] | None) -> NetworkBenefits | None:
    if not raw:
        return None
    return NetworkBenefits(
        coinsurance_percent=Decimal(str(raw["coinsurance_percent"])),
        copays={k: _money(v) for k, v in raw.get("copays", {}).items()},
        deductible_individual=_acc(raw["deductible"]["individual"]),
        deductible_family=_acc(raw["deductible"]["family"]),
        oop_individual=_acc(raw["out_of_pocket"]["individual"]),
        oop_family=_acc(raw["out_of_pocket"]["family"]),
        cost_share_after_copay=frozenset(raw.get("cost_share_after_copay", [])),
        hospital={k: v for k, v in (raw.get("hospital") or {}).items() if not k.startswith("_")},
    )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _scenario(member_id: str, raw: dict[str, Any], members_raw: dict[str, Any]) -> Scenario:
    benefits = raw.get("benefits")
    if isinstance(benefits, str):  # "benefits": "SBX10001" borrows another member's benefits
        benefits = members_raw[benefits]["benefits"]
    response = raw["response"]
    aaa = response.get("aaa")
    coverage = raw.get("coverage") or {}
    return Scenario(
        member_id=member_id,
        scenario=raw["scenario"],
        payer_id=raw["payer_id"],
        http_status=int(response.get("http_status", 200)),
        delay_ms=response.get("delay_ms"),
        aaa=Aaa(aaa["code"], aaa["loop"], aaa["follow_up"], bool(aaa["transient"])) if aaa else None,
        subscriber=raw.get("subscriber"),
        status=raw.get("status"),
        plan=raw.get("plan"),
        coverage_start=_day(coverage.get("start")),
        coverage_end=_day(coverage.get("end")),
        service_types=list(raw.get("service_types") or []),
        in_network=_network((benefits or {}).get("in_network")),
        out_of_network=_network((benefits or {}).get("out_of_network")),
        prior_auth_required_service_types=list(raw.get("prior_auth_required_service_types") or []),
        prior_auth_codes=list(raw.get("prior_auth_codes") or []),
        other_payers=[
            OtherPayer(o["payer_id"], o["name"], o["order"], o.get("member_id"))
            for o in raw.get("other_payers") or []
        ],
        dependents=list(raw.get("dependents") or []),
        primary_care_provider=raw.get("primary_care_provider"),
    )


def _payer(payer_id: str, raw: dict[str, Any]) -> PayerRules:
    denial = raw.get("random_denial") or {}
    remittance = raw.get("remittance") or {}
    return PayerRules(
        payer_id=payer_id,
        name=raw["name"],
        kind=raw.get("kind", "commercial"),
        claim_filing_indicator=raw.get("claim_filing_indicator", "CI"),
        timely_filing_days=int(raw["timely_filing_days"]),
        default_allowed_percent=Decimal(str(raw.get("default_allowed_percent", "100"))),
        prior_auth_codes=frozenset(raw.get("prior_auth_codes", [])),
        non_covered_codes=frozenset(raw.get("non_covered_codes", [])),
        bundling_pairs=[
            BundlingPair(p["column1"], p["column2"], bool(p.get("modifier_allowed", False)))
            for p in raw.get("bundling_pairs", [])
        ],
        bypass_modifiers=frozenset(raw.get("bypass_modifiers", [])),
        random_denial_share=Decimal(str(denial.get("share", "0"))),
        random_denial_group=denial.get("group_code", "CO"),
        random_denial_reason=denial.get("reason_code", "50"),
        remittance_mode=remittance.get("mode", "immediate"),
        cycle_seconds=float(remittance.get("cycle_seconds", 5)),
        payment_method=raw.get("payment_method", "ACH"),
        fee_schedule={
            (e["code"], e.get("modifier")): _money(e["allowed"]) for e in raw.get("fee_schedule", [])
        },
    )


def load_tables(scenarios_file: Path = SCENARIOS_FILE, payers_file: Path = PAYERS_FILE) -> Tables:
    scenarios = json.loads(scenarios_file.read_text(encoding="utf-8"))
    payers = json.loads(payers_file.read_text(encoding="utf-8"))
    members_raw = scenarios["members"]
    defaults = scenarios.get("defaults", {})
    return Tables(
        members={mid: _scenario(mid, raw, members_raw) for mid, raw in members_raw.items()},
        patterns=[(re.compile(p["pattern"]), p["like"]) for p in scenarios.get("patterns", [])],
        member_id_format=re.compile(defaults.get("member_id_format", r"^[A-Za-z0-9]{2,80}$")),
        slow_delay_ms=int(defaults.get("slow_delay_ms", 2500)),
        malformed_aaa=defaults.get("malformed_member_id_aaa", "72"),
        unknown_aaa=defaults.get("unknown_member_id_aaa", "75"),
        payers={pid: _payer(pid, raw) for pid, raw in payers["payers"].items()},
        service_type_ranges=[
            (r["from"], r["to"], r["service_type"]) for r in payers.get("service_type_by_code", [])
        ],
        default_service_type=payers.get("default_service_type", "30"),
        payee_name=payers.get("payee", {}).get("name", "SANDBOX CLINIC"),
        payee_default_npi=payers.get("payee", {}).get("default_npi", "1234567893"),
        remark_codes={k: v for k, v in payers.get("remark_codes", {}).items() if not k.startswith("_")},
    )


@cache
def default_tables() -> Tables:
    return load_tables()


def scenario_table() -> dict[str, Any]:
    """The raw scenario file, for tests of other parts that read expected values from it."""
    return json.loads(SCENARIOS_FILE.read_text(encoding="utf-8"))
