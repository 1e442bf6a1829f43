"""Claims' A/R rows without I/O: a claim's charge, what a payer's adjudication moves (the shared
rule payments' ledger follows, shared.receivables), the exact opposite for a reversal, and what
a corrected or void claim, a later payer's claim and a denial worked in payments do."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.claims.claims.tables import Claim
from shared import receivables
from shared.events.catalogue import DenialResolved, PaymentPosted

ZERO = Decimal("0.00")
CHARGED = ("1", "7")  # a primary original or replacement carries the visit's charges


def row(claim: Claim, kind: str, amount: Decimal, at: datetime, **more: Any) -> dict[str, Any]:
    """One `ar_entries` row of the claim."""
    return {
        "claim_id": claim.id,
        "payer_id": claim.payer_id,
        "kind": kind,
        "amount": amount,
        "to_patient": more.pop("to_patient", ZERO),
        "payment_id": more.pop("payment_id", None),
        "group_code": more.pop("group_code", None),
        "reason_code": more.pop("reason_code", None),
        "recorded_at": at,
    }


def charge(claim: Claim) -> list[dict[str, Any]]:
    """A primary original or replacement claim sent: the payer owes its charges (the charges
    payments puts on the account with insurance)."""
    if claim.coverage_order != "primary" or claim.frequency_code not in CHARGED:
        return []
    assert claim.submitted_at is not None
    return [row(claim, "charge", claim.total_charge, claim.submitted_at)]


def posting(claim: Claim, posted: PaymentPosted, open_insurance: Decimal) -> list[dict[str, Any]]:
    """What an adjudication moves, by the shared rule: a denial stays, everything else leaves."""
    moves = receivables.posting_moves(
        posted.amount,
        posted.adjustments,
        primary=claim.coverage_order == "primary",
        open_insurance=open_insurance,
    )
    return [
        row(
            claim,
            m.entry_type,
            m.insurance,
            posted.posted_at,
            to_patient=m.patient,
            payment_id=posted.payment_id,
            group_code=m.group_code,
            reason_code=m.reason_code,
        )
        for m in moves
    ]


def negation(claim: Claim, reversed_rows: Sequence[Any], posted: PaymentPosted) -> list[dict[str, Any]]:
    """CLP02 = 22: the exact opposite of what the reversed payment moved (payments negates its
    ledger rows the same way)."""
    return [
        row(
            claim,
            r.kind,
            -r.amount,
            posted.posted_at,
            to_patient=-r.to_patient,
            payment_id=posted.payment_id,
            group_code=r.group_code,
            reason_code=r.reason_code,
        )
        for r in reversed_rows
    ]


def retirement(
    claim: Claim, amount: Decimal, at: datetime, payment_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """A corrected or void claim retires what its original still has with the payer (zero too:
    it marks the claim retired), and a reversal of a retired claim is retired in turn."""
    return row(claim, "retired", -amount, at, payment_id=payment_id)


def opening(claim: Claim, moved: Decimal) -> list[dict[str, Any]]:
    """A later payer's claim sent: what the previous payer left to the patient is owed by it."""
    assert claim.submitted_at is not None
    return [row(claim, "opening", moved, claim.submitted_at)] if moved > 0 else []


def worked(claim: Claim, resolved: DenialResolved) -> dict[str, Any]:
    """A denial written off or billed to the patient in payments leaves the payer's A/R."""
    to_patient = resolved.amount if resolved.resolution == "billed_patient" else ZERO
    return row(claim, resolved.resolution, -resolved.amount, resolved.resolved_at, to_patient=to_patient)


def insurance_change(rows: Iterable[dict[str, Any]]) -> Decimal:
    return sum((r["amount"] for r in rows), ZERO)
