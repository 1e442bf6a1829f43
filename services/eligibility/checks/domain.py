"""Rules of a coverage check, without I/O: sealing its PHI (the `Vault`), the keyed cache key,
how long a request waits for the payer, when background work gives up, the event a
finished check publishes, and a check row as the API shows it (`check_out`).

Encryption at rest covers what holds PHI in clear: the raw 270/271, queued check requests (with
the registry snapshot of a check run from the registry), the people a 271 names
(`checks.demographics_enc`) and the registry copy (`registry_copies`).
Fernet (AES-128-CBC + HMAC-SHA256, from the `cryptography` package) with keys from
ELIGIBILITY_X12_KEYS, newest first: MultiFernet encrypts with the first and decrypts with
any, so a key can be rotated without losing what was written with the previous one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, MultiFernet

from services.eligibility.checks.schemas import CheckIn, CheckOut
from services.eligibility.demographics.domain import RELATIONSHIPS
from services.eligibility.payers.domain import PayerFailure
from services.eligibility.settings import EligibilitySettings
from shared.events.catalogue import BenefitSummary, EligibilityChecked, OtherPayer

# A check claimed this many times without finishing (a payer paused for long, a bug, a key
# that no longer decrypts) is failed instead of being retried for ever.
MAX_ATTEMPTS = 30
GAVE_UP = {"code": "gave-up", "detail": f"Not finished after {MAX_ATTEMPTS} attempts.", "retryable": True}
# Background work puts a check back this many times while its payer's breaker is open, then
# fails it like a request would.
MAX_DEFERRALS = 20


class Vault:
    """Seals and opens PHI with the service's Fernet keys, and hashes the cache key with the
    newest one, so the cache can be looked up without storing the member id in clear."""

    def __init__(self, settings: EligibilitySettings) -> None:
        keys = [k.strip() for k in settings.x12_keys.split(",") if k.strip()]
        if not keys:
            raise ValueError("ELIGIBILITY_X12_KEYS must hold at least one Fernet key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        self._hash_key = settings.x12_keys.split(",")[0].encode()

    def seal(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def open(self, token: bytes) -> str:
        return self._fernet.decrypt(bytes(token)).decode()

    def seal_json(self, value: Any) -> bytes:
        return self.seal(json.dumps(value, default=str))

    def open_json(self, token: bytes) -> Any:
        return json.loads(self.open(token))

    def cache_key(
        self,
        payer_id: str,
        member_id: str,
        service_types: list[str],
        date_of_service: str,
        dependent: str = "",
    ) -> str:
        """The same question (member, payer, service types, date, and the dependent asked
        about, if any) gives the same key; a dependent's check is never a subscriber's."""
        parts = [payer_id, member_id.upper(), ",".join(sorted(service_types)), date_of_service]
        material = "|".join(parts + ([dependent.upper()] if dependent else []))
        return hmac.new(self._hash_key, material.encode(), hashlib.sha256).hexdigest()


def sealed_request(body: CheckIn) -> dict[str, Any]:
    """The request's PHI as `checks.request_enc` keeps it until the check ends."""
    request: dict[str, Any] = {
        "member_id": body.member_id,
        "first_name": body.patient.first_name,
        "last_name": body.patient.last_name,
        "birth_date": body.patient.birth_date.isoformat(),
    }
    if body.dependent is not None:
        dep = body.dependent
        request["dependent"] = {
            "first_name": dep.first_name,
            "last_name": dep.last_name,
            "birth_date": dep.birth_date.isoformat(),
            "gender": dep.gender,
            "relationship_code": RELATIONSHIPS[dep.relationship] if dep.relationship else None,
        }
    return request


def _dependent_key(body: CheckIn) -> str:
    dep = body.dependent
    return "" if dep is None else "|".join([dep.first_name, dep.last_name, dep.birth_date.isoformat()])


def new_row(
    vault: Vault,
    body: CheckIn,
    requested_by: str,
    *,
    batch_id: uuid.UUID | None = None,
    lease_until: datetime | None = None,
    registry: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `checks` row for a request: PHI sealed, the cache key hashed. A check run from the
    registry seals the snapshot it was built from too (`registry.domain.check_of`), so its
    271 is compared with what the registry said when it was asked."""
    sealed = sealed_request(body) | ({"registry": registry} if registry is not None else {})
    return {
        "id": uuid.uuid4(),
        "patient_id": body.patient_id,
        "payer_id": body.payer_id,
        "provider_npi": body.provider_npi,
        "service_type_codes": body.service_type_codes,
        "date_of_service": body.date_of_service,
        "member_hint": body.member_id[-4:],
        "cache_key": vault.cache_key(
            body.payer_id,
            body.member_id,
            body.service_type_codes,
            body.date_of_service.isoformat(),
            _dependent_key(body),
        ),
        "request_enc": vault.seal_json(sealed),
        "batch_id": batch_id,
        "lease_until": lease_until,
        "requested_by": requested_by,
    }


_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+(?:\.\d+)?)")


def request_budget(settings: EligibilitySettings, prefer: str | None) -> float:
    """Seconds to wait for the payer before answering 202: RFC 7240 `Prefer: wait=N` or
    `respond-async` (0), else the configured budget; never more than the maximum."""
    budget = settings.request_budget_seconds
    if prefer:
        if "respond-async" in prefer:
            budget = 0.0
        match = _PREFER_WAIT.search(prefer)
        if match:
            budget = float(match.group(1))
    return min(budget, settings.max_request_budget_seconds)


def error_of(failure: PayerFailure) -> dict[str, Any]:
    """A payer failure as the check's `error` column keeps it."""
    return {"code": failure.code, "detail": failure.detail, "retryable": failure.retryable}


def _member_id(value: str | None) -> str | None:
    """Another coverage's member id as the 271 gave it, when it is one a claim can carry."""
    return value if value and re.fullmatch(r"[A-Za-z0-9\-]{2,80}", value) else None


def event_of(
    check_id: uuid.UUID, row: dict[str, Any], result: dict[str, Any], at: datetime
) -> EligibilityChecked:
    """The event: coverage summary and benefits, no names, birth dates or the checked member's
    id; other payers carry their own member id, which their claims are billed with."""
    benefits = []
    for b in result["benefits"]:
        for net in ("in_network", "out_of_network"):
            copay = b["copay"][net]
            coins = b["coinsurance_percent"][net]
            ded = (b["deductible"].get("individual") or {}).get(net) or {}
            oop = (b["out_of_pocket"].get("individual") or {}).get(net) or {}
            per_admission = (b.get("deductible_per_admission") or {}).get(net)
            if net == "out_of_network" and not any(
                [copay, coins, ded.get("remaining"), oop.get("remaining"), per_admission]
            ):
                continue
            benefits.append(
                BenefitSummary(
                    service_type_code=b["service_type_code"],
                    in_network=net == "in_network",
                    copay=copay,
                    coinsurance_percent=coins,
                    deductible_remaining=ded.get("remaining"),
                    out_of_pocket_remaining=oop.get("remaining"),
                    prior_auth_required=b["prior_auth_required"],
                    copay_per=(b.get("copay_per") or {}).get(net),
                    deductible_per_admission=(b.get("deductible_per_admission") or {}).get(net),
                )
            )
    rejection = next(iter(result["rejections"]), None)
    return EligibilityChecked(
        check_id=check_id,
        patient_id=row["patient_id"],
        payer_id=row["payer_id"],
        status=result["status"],
        date_of_service=row["date_of_service"],
        service_type_codes=list(row["service_type_codes"]),
        coverage_start=result["coverage_start"],
        coverage_end=result["coverage_end"],
        prior_auth_required_service_types=[
            b["service_type_code"] for b in result["benefits"] if b["prior_auth_required"]
        ],
        error_code=rejection["reason_code"] if rejection and result["status"] == "error" else None,
        checked_at=at,
        other_payers=[
            OtherPayer(payer_id=p["payer_id"], order=p["order"], member_id=_member_id(p.get("member_id")))
            for p in result["other_payers"]
            if p["order"] and re.fullmatch(r"[A-Za-z0-9._:\-]{1,64}", p["payer_id"] or "")
        ],
        benefits=benefits,
    )


def decoded(value: Any) -> Any:
    """A jsonb value as Python (drivers without a jsonb codec hand over the text)."""
    return json.loads(value) if isinstance(value, str) else value


def check_out(row: Any, vault: Vault | None = None) -> CheckOut:
    """A `checks` row as the API shows it, with its links; with the vault, also the people its
    271 names (PHI, opened only for the API's check routes)."""
    result = decoded(row["result"]) or {}
    sealed = row.get("demographics_enc") if vault is not None else None
    people = vault.open_json(sealed) if vault is not None and sealed is not None else {}
    links = {"self": f"/v1/eligibility/checks/{row['id']}"}
    if row["state"] != "pending":
        links["x12"] = f"/v1/eligibility/checks/{row['id']}/x12"
    return CheckOut(
        id=row["id"],
        state=row["state"],
        status=row["status"],
        patient_id=row["patient_id"],
        payer_id=row["payer_id"],
        member_hint=row["member_hint"],
        date_of_service=row["date_of_service"],
        service_type_codes=decoded(row["service_type_codes"]),
        plan_name=result.get("plan_name"),
        group_number=result.get("group_number"),
        plan_type=result.get("plan_type"),
        plan_number=result.get("plan_number"),
        plan_messages=result.get("plan_messages", []),
        subscriber=people.get("subscriber"),
        dependent=people.get("dependent"),
        patient_account_number=people.get("patient_account_number"),
        primary_care_provider=people.get("primary_care_provider"),
        demographics_mismatches=result.get("demographics_mismatches", []),
        registry_revision=result.get("registry_revision"),
        registry_discrepancies=result.get("registry_discrepancies", []),
        coverage_start=result.get("coverage_start"),
        coverage_end=result.get("coverage_end"),
        benefits=result.get("benefits", []),
        other_payers=result.get("other_payers", []),
        rejections=result.get("rejections", []),
        warnings=result.get("warnings", []),
        error=decoded(row["error"]),
        cached=row["cached_from"] is not None,
        batch_id=row["batch_id"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
        links=links,
    )
