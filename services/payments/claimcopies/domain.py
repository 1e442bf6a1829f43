"""Claim-copy rules without I/O: what payments keeps of a submitted claim, and which
charges a claim puts on the account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
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
    claim_type: str = "professional"  # claim.submitted's; reports split by it
    lines: list[dict[str, Any]] = field(default_factory=list)  # ClaimLineSummary as JSON


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
        claim.claim_type,
        _LINES.dump_python(claim.lines, mode="json"),
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
        "claim_type": claim.claim_type,
    }


def charges(claim: ClaimSubmitted) -> list[Entry]:
    """A primary original or corrected claim's charges, with insurance: per line when the
    lines add up to the total, else the total (what the payer sees as CLP03)."""
    if claim.coverage_order != "primary" or claim.frequency_code not in ("1", "7"):
        return []
    if claim.lines and sum(line.charge for line in claim.lines) == claim.total_charge:
        parts = [(line.charge, charge_description(line), line.date_of_service) for line in claim.lines]
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


def charge_description(line: ClaimLineSummary) -> str:
    """A charge line's ledger description: its procedure code, and the revenue code of an
    institutional line (which may have no procedure code)."""
    if line.revenue_code is None:
        return f"Charge {line.code}"
    rev = f"rev. {line.revenue_code}"
    return f"Charge {line.code} ({rev})" if line.code else f"Charge {rev}"


def retirement(
    item_id: uuid.UUID,
    account_id: str,
    amount: Decimal,
    dos: date | None,
    what: str,
    at: uuid.UUID | None = None,
) -> Entry:
    """The adjustment that takes what a corrected (7) or voided (8) claim's original still has
    with insurance off the account, on the original item (`amount`: that balance, zero too,
    which marks the item retired). The replacement carries its own charges; a reversal of the
    original posted later is retired in turn (`at`: that posting), so the original item stays
    at zero with insurance instead of going negative while the payer's answer is awaited."""
    return Entry(
        account_id=account_id,
        entry_type="adjustment",
        amount=-amount,
        bucket="insurance",
        item_id=item_id,
        claim_id=item_id,
        posting_id=at,
        reason_code="RETIRED",
        service_date=dos,
        description=f"Claim {what}",
    )


def retired_what(claim: ClaimSubmitted) -> str:
    """How a follow-on claim retires its original, for the ledger's description."""
    return "replaced by a corrected claim" if claim.frequency_code == "7" else "voided"


def next_payer_moves(claim: ClaimSubmitted, primary: ClaimCopy, moved: Decimal) -> list[Entry]:
    """A secondary (tertiary) claim billed: what the previous payer left to the patient moves
    from the patient to this payer's insurance bucket, on this claim's item (shared.receivables:
    the patient is not dunned for what another payer may still pay)."""
    if moved <= 0:
        return []
    common = {"entry_type": "transfer", "service_date": primary.date_of_service}
    what = f"Billed to the next payer ({claim.payer_id})"
    return [
        Entry(
            account_id=primary.account_id,
            amount=-moved,
            bucket="patient",
            item_id=primary.claim_id,
            claim_id=primary.claim_id,
            description=what,
            **common,
        ),
        Entry(
            account_id=account_of(claim),
            amount=moved,
            bucket="insurance",
            item_id=claim.claim_id,
            claim_id=claim.claim_id,
            description=what,
            **common,
        ),
    ]
