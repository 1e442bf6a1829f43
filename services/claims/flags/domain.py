"""Which open claims a coverage change affects, and the action suggested for each. No I/O:
the store finds the patient's open claims, these rules pick and word the flags.

- member_id_corrected: the patient's open claims with that payer billed with another member
  id than the corrected one (the old one, or any stale one) — a claim with the payer is
  corrected (frequency 7, REF*F8), one not yet sent is edited and submitted.
- terminated, retroactive: the patient's open claims with that payer dated after the
  termination went to a payer that no longer covered them — bill the coverage in force on
  their date of service now, if the registry has one.
Texts name payers and claim states only: no member ids, names or dates of birth."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.claims.claims.domain import EDITABLE
from services.claims.registry.domain import in_force
from shared.events.frontoffice import CoverageChange, RegisteredCoverage

# Open: the payer may still pay it or it is still to be sent (the brief's "not paid/closed/voided";
# replaced is the end state of a claim whose replacement was paid).
SETTLED = ("paid", "closed", "voided", "replaced")
KINDS = ("member_id_corrected", "retroactive_termination")
CORRECT_AT_PAYER = "Submit a corrected claim (frequency 7) with the new member id."
CORRECT_UNSENT = "Correct the member id on the claim (it is not with the payer yet) and submit it."


@dataclass(frozen=True)
class OpenClaim:
    """What the rules need of an open claim of the patient."""

    id: uuid.UUID
    payer_id: str
    status: str
    date_of_service: date
    member_id: str | None  # as billed (2010BA NM109)


def bill_new_payer(coverage: RegisteredCoverage | None) -> str:
    """The retroactive termination's suggested action, naming the coverage now in force."""
    if coverage is None:
        return (
            "The payer's coverage ended before the date of service and no other coverage on file is "
            "in force then: void the claim and bill the patient, or find the coverage."
        )
    return (
        f"Bill the new payer: {coverage.payer_id} ({coverage.order} coverage in force on the date "
        "of service); void this claim with the payer whose coverage ended."
    )


def flags_for(
    change: CoverageChange,
    claims: list[OpenClaim],
    coverages: list[RegisteredCoverage],
    *,
    patient_id: str,
    revision: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The flag rows (claim_flags columns) one change causes on the patient's open claims."""
    mine = [c for c in claims if c.payer_id == change.payer_id and c.status not in SETTLED]
    rows: list[dict[str, Any]] = []
    if change.kind == "member_id_corrected":
        coverage = next((c for c in coverages if c.coverage_id == change.coverage_id), None)
        if coverage is None:
            return []
        for claim in mine:
            if claim.member_id != coverage.member_id:
                action = CORRECT_UNSENT if claim.status in EDITABLE else CORRECT_AT_PAYER
                rows.append(
                    _row(claim, change, "member_id_corrected", action, None, patient_id, revision, now)
                )
    elif change.kind == "terminated" and change.retroactive:
        ended = change.termination_date or next(
            (c.termination_date for c in coverages if c.coverage_id == change.coverage_id), None
        )
        if ended is None:
            return []
        for claim in mine:
            if claim.date_of_service > ended:
                now_in_force = [
                    c
                    for c in in_force(coverages, claim.date_of_service)
                    if c.coverage_id != change.coverage_id
                ]
                new = now_in_force[0] if now_in_force else None
                action = bill_new_payer(new)
                payer = new.payer_id if new else None
                rows.append(
                    _row(claim, change, "retroactive_termination", action, payer, patient_id, revision, now)
                )
    return rows


def _row(
    claim: OpenClaim,
    change: CoverageChange,
    kind: str,
    action: str,
    payer: str | None,
    patient_id: str,
    revision: int,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "claim_id": claim.id,
        "patient_id": patient_id,
        "payer_id": claim.payer_id,
        "kind": kind,
        "coverage_id": change.coverage_id,
        "revision": revision,
        "suggested_action": action,
        "suggested_payer_id": payer,
        "status": "open",
        "note": None,
        "resolved_by": None,
        "resolved_at": None,
        "created_at": now,
    }
