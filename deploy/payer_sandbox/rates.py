"""The institutional rates (data/institutional.json): MS-DRG relative weights (CMS FY 2026
Table 5), each payer's DRG base rate, per diem rules, outpatient fee schedule by HCPCS and
rates by revenue code. Loading only: the rules that use them are in institutional.py, so the
figures stay data with their sources named in the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from deploy.payer_sandbox.data import DATA_DIR

RATES_FILE = DATA_DIR / "institutional.json"


@dataclass(frozen=True)
class Adjustment:
    """A CAS group/reason with the remark code (RARC) that explains it."""

    group: str
    reason: str
    remark: str


@dataclass(frozen=True)
class PerDiem:
    """Days x rate, for claims of this facility type code or billing provider taxonomy."""

    rate: Decimal
    facility_type: str | None
    taxonomy: str | None

    def matches(self, facility_type: str, taxonomy: str) -> bool:
        return (self.facility_type is not None and self.facility_type == facility_type) or (
            self.taxonomy is not None and self.taxonomy == taxonomy
        )


@dataclass(frozen=True)
class RevenueRate:
    percent_of_charge: Decimal | None
    adjust: Adjustment | None


@dataclass(frozen=True)
class InstitutionalRules:
    """One payer's institutional contract."""

    drg_base_rate: Decimal
    lesser_of_charges: bool
    per_diem: tuple[PerDiem, ...]
    no_drg: Adjustment
    unknown_drg: Adjustment
    fee_schedule: dict[str, Decimal]  # HCPCS -> allowed per unit
    revenue_codes: dict[str, RevenueRate]
    default_percent_of_charge: Decimal
    emergency_revenue_codes: frozenset[str]

    def per_diem_for(self, facility_type: str, taxonomy: str) -> PerDiem | None:
        return next((p for p in self.per_diem if p.matches(facility_type, taxonomy)), None)


@dataclass(frozen=True)
class Rates:
    drg_weights: dict[str, Decimal]
    payers: dict[str, InstitutionalRules]


def _adjustment(raw: dict[str, Any]) -> Adjustment:
    return Adjustment(raw["group"], raw["reason"], raw.get("remark", ""))


def _rules(raw: dict[str, Any]) -> InstitutionalRules:
    inpatient, outpatient = raw["inpatient"], raw["outpatient"]
    return InstitutionalRules(
        drg_base_rate=Decimal(inpatient["drg_base_rate"]),
        lesser_of_charges=bool(inpatient.get("lesser_of_charges", True)),
        per_diem=tuple(
            PerDiem(Decimal(p["rate"]), p.get("facility_type"), p.get("taxonomy"))
            for p in inpatient.get("per_diem", [])
        ),
        no_drg=_adjustment(inpatient["no_drg"]),
        unknown_drg=_adjustment(inpatient["unknown_drg"]),
        fee_schedule={code: Decimal(v) for code, v in outpatient.get("fee_schedule", {}).items()},
        revenue_codes={
            code: RevenueRate(
                Decimal(v["percent_of_charge"]) if "percent_of_charge" in v else None,
                _adjustment(v["adjust"]) if "adjust" in v else None,
            )
            for code, v in outpatient.get("revenue_codes", {}).items()
            if not code.startswith("_")
        },
        default_percent_of_charge=Decimal(outpatient.get("default_percent_of_charge", "0")),
        emergency_revenue_codes=frozenset(raw.get("emergency_revenue_codes", [])),
    )


def load_rates(path: Path = RATES_FILE) -> Rates:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Rates(
        drg_weights={code: Decimal(v["weight"]) for code, v in raw["drg_weights"]["weights"].items()},
        payers={payer_id: _rules(rules) for payer_id, rules in raw["payers"].items()},
    )


@cache
def default_rates() -> Rates:
    return load_rates()
