"""Reference data the claims service reads from files: payers, modifiers, diagnosis conflicts,
edits, denial actions with the CARC/RARC descriptions, policy.

Everything a billing office tunes (a new payer, an edit's severity, a CARC's action) is a
file under data/, read on first use and kept until `reload()` (tests, operators). Code sets
and the NCCI and MUE edit tables are loaded versions in the database (services.claims.codesets). The
service's lifespan reads them all at start (`load()`) and forgets them at stop, so a broken
file stops the service at start and a new app in the same process reads the files afresh.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from services.claims.denials.domain import DenialRules
from services.claims.settings import get_claims_settings


@dataclass(frozen=True)
class Payer:
    id: str
    name: str
    timely_filing_days: int
    followup_days: int
    claim_filing_indicator: str
    prior_auth_codes: frozenset[str]
    requires_eligibility: bool
    taxonomy_required: bool = False  # 837P PRV*BI / PRV*PE: the payer adjudicates by taxonomy


def _path(name: str) -> Path:
    return get_claims_settings().data_dir / name


def _json(name: str) -> dict[str, Any]:
    return json.loads(_path(name).read_text())


def _csv(name: str) -> list[dict[str, str]]:
    """A CSV table with a header row; lines starting with # are comments."""
    lines = [line for line in _path(name).read_text().splitlines() if line.strip() and line[:1] != "#"]
    return list(csv.DictReader(lines))


@cache
def payers() -> dict[str, Payer]:
    result = {}
    for payer_id, rule in _json("payers.json").items():
        if payer_id.startswith("_"):
            continue
        result[payer_id] = Payer(
            id=payer_id,
            name=rule["name"],
            timely_filing_days=int(rule["timely_filing_days"]),
            followup_days=int(rule["followup_days"]),
            claim_filing_indicator=rule.get("claim_filing_indicator", "CI"),
            prior_auth_codes=frozenset(rule.get("prior_auth_codes", [])),
            requires_eligibility=bool(rule.get("requires_eligibility", False)),
            taxonomy_required=bool(rule.get("taxonomy_required", False)),
        )
    return result


@cache
def codes() -> dict[str, Any]:
    return _json("codes.json")


@cache
def operator_codes() -> frozenset[str]:
    """Codes the operator names in CLAIMS_CODE_SET_FILE (one per line), valid on any date. The
    code sets proper are loaded versions (services.claims.codesets); this is a quick addition."""
    extra = get_claims_settings().code_set_file
    if extra is None:
        return frozenset()
    known = set()
    for line in Path(extra).read_text().splitlines():
        code = line.replace("\t", ",").split(",")[0].strip().upper()
        if code and not code.startswith("#"):
            known.add(code)
    return frozenset(known)


@cache
def pos_codes() -> dict[str, str]:
    return {k: v for k, v in _json("pos_codes.json").items() if not k.startswith("_")}


@cache
def icd10cm_conflicts() -> dict[str, list[dict[str, Any]]]:
    """ICD-10-CM age and sex conflicts (data/icd10cm_conflicts.json)."""
    rules = _json("icd10cm_conflicts.json")
    return {
        kind: [{**rule, "bounds": _bounds(rule["codes"])} for rule in rules[kind]] for kind in ("sex", "age")
    }


def _bounds(spec: str) -> tuple[str, str]:
    """An ICD-10-CM item or range FIRST-LAST as comparable keys (no dots, upper case)."""
    low, _, high = spec.replace(".", "").upper().partition("-")
    return low, high or low


@cache
def institutional() -> dict[str, Any]:
    """The institutional scrubber's tables (data/institutional.json): revenue codes that need a
    HCPCS, POA-exempt diagnoses, patient status codes; each section names its source."""
    return _json("institutional.json")


@cache
def edits() -> list[dict[str, Any]]:
    return list(_json("edits.json")["edits"])


@cache
def denial_rules() -> DenialRules:
    """What to do about a denial by group code, CARC and RARC (checked: a bad row stops the
    service at start)."""
    return DenialRules.from_rows(_csv("denial_actions.csv"))


@cache
def carc_descriptions() -> dict[str, str]:
    """Claim adjustment reason codes and their published descriptions (a subset; the operator
    may drop in the full list)."""
    return {r["code"]: r["description"] for r in _csv("carc.csv")}


@cache
def rarc_descriptions() -> dict[str, str]:
    """Remittance advice remark codes and their published descriptions (a subset, likewise)."""
    return {r["code"]: r["description"] for r in _csv("rarc.csv")}


@cache
def policy() -> dict[str, Any]:
    return _json("policy.json")


def auto_submit_encounter_claims() -> bool:
    configured = get_claims_settings().auto_submit_encounter_claims
    return bool(policy()["auto_submit_encounter_claims"]) if configured is None else configured


def auto_submit_secondary() -> bool:
    configured = get_claims_settings().auto_submit_secondary
    return bool(policy()["auto_submit_secondary"]) if configured is None else configured


_LOADERS = (
    payers,
    codes,
    operator_codes,
    pos_codes,
    icd10cm_conflicts,
    institutional,
    edits,
    denial_rules,
    carc_descriptions,
    rarc_descriptions,
    policy,
)


def load() -> None:
    """Read every file now (settings afresh), instead of at first use."""
    reload()
    for loader in _LOADERS:
        loader()


def reload() -> None:
    """Forget cached files and settings (after an operator replaces a data file)."""
    for loader in _LOADERS:
        loader.cache_clear()
    get_claims_settings.cache_clear()
