"""Claim-copy rules without I/O: what payments keeps of a submitted claim, and which
charges a claim puts on the account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from services.payments.accounts.domain import Entry
from shared.events.catalogue import ClaimLineSummary, ClaimSubmitted

CORRECTED_OR_VOID = ("7", "8")
_LINES = TypeAdapter(list[ClaimLineSummary])


@dataclass
class ClaimCopy:
    """What payments knows of a submitted claim (from `claim.submitted`)."""

    claim_id: uuid.UUID
    patient_control_number: str
    account_id: str
    payer_id: str
    coverage_order: str
    total_charge: Decimal
    date_of_service: date | None


def account_of(claim: ClaimSubmitted) -> str:
    """The account a claim's money goes to: its own, else the patient's."""
    return claim.account_id or claim.patient_id


def copy_of(claim: ClaimSubmitted) -> ClaimCopy:
    """What payments keeps of a submitted claim, to match 835 claims to it."""
    return ClaimCopy(
        claim.claim_id,
        claim.patient_control_number,
        account_of(claim),
        claim.payer_id,
        claim.coverage_order,
        claim.total_charge,
        claim.date_of_service,
    )


def copy_row(claim: ClaimSubmitted) -> dict[str, Any]:
    """The claim's `claim_copies` row."""
    return {
        "claim_id": claim.claim_id,
        "patient_control_number": claim.patient_control_number,
        "patient_id": claim.patient_id,
        "account_id": account_of(claim),
        "payer_id": claim.payer_id,
        "coverage_order": claim.coverage_order,
        "frequency_code": claim.frequency_code,
        "total_charge": claim.total_charge,
        "date_of_service": claim.date_of_service,
        "lines": _LINES.dump_json(claim.lines),  # bytes: JSON text, taken as is by insert_many
        "submitted_at": claim.submitted_at,
    }


def charges(claim: ClaimSubmitted) -> list[Entry]:
    """A primary original or corrected claim's charges, with insurance: per line when the
    lines add up to the total, else the total (what the payer sees as CLP03)."""
    if claim.coverage_order != "primary" or claim.frequency_code not in ("1", "7"):
        return []
    if claim.lines and sum(line.charge for line in claim.lines) == claim.total_charge:
        parts = [(line.charge, f"Charge {line.code}", line.date_of_service) for line in claim.lines]
    else:
        parts = [(claim.total_charge, "Claim charges", claim.date_of_service)]
    return [
        Entry(
            account_id=account_of(claim),
            entry_type="charge",
            amount=amount,
            bucket="insurance",
            description=description,
            item_id=claim.claim_id,
            claim_id=claim.claim_id,
            service_date=service_date,
        )
        for amount, description, service_date in parts
    ]


def retirement(
    claim: ClaimSubmitted, original_claim: uuid.UUID, account_id: str, charged: Decimal, dos: date | None
) -> Entry:
    """The adjustment that takes a corrected (7) or voided (8) claim's original charges off
    the account, on the original item: the payer's reversal of the original then brings
    that item back to zero, and a corrected claim carries its own charges."""
    what = "replaced by a corrected claim" if claim.frequency_code == "7" else "voided"
    return Entry(
        account_id=account_id,
        entry_type="adjustment",
        amount=-charged,
        bucket="insurance",
        item_id=original_claim,
        claim_id=original_claim,
        reason_code="RETIRED",
        service_date=dos,
        description=f"Claim {what}",
    )
