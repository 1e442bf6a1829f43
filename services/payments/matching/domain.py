"""The rules of matching by hand, without I/O.

The payer is a hard rule: posting one payer's remittance to another payer's claim moves that
payer's money into the wrong insurance A/R (a claim matched across payers left an account's
insurance bucket at -$400), so it needs an override with a reason that a second person
approves. The patient control number and the charge are warnings, shown side by side: a claim
is parked precisely because its CLP01 found no claim (payers truncate and mistype it), and a
payer may adjudicate a different charge (a split claim, a corrected claim's new total), so a
person decides from the amounts, the dates and the patient the worklist shows.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from services.payments.claimcopies.domain import ClaimCopy
from services.payments.matching.schemas import ClaimSide, MatchCheck, Mismatch, RemittanceSide
from services.payments.postings.domain import REVERSAL


def check(parked: Any, copy: ClaimCopy, insurance_open: Decimal, patient_open: Decimal) -> MatchCheck:
    """Compare the parked claim (its row with the remittance's payer) with the claim chosen."""
    remittance = RemittanceSide(
        payer_id=parked.payer_id,
        patient_control_number=parked.patient_control_number,
        payer_claim_control_number=parked.payer_claim_control_number,
        status_code=parked.status_code,
        charge=parked.charge,
        paid=parked.paid,
        patient_responsibility=parked.patient_responsibility,
    )
    claim = ClaimSide(
        claim_id=copy.claim_id,
        account_id=copy.account_id,
        payer_id=copy.payer_id,
        patient_control_number=copy.patient_control_number,
        coverage_order=copy.coverage_order,
        charge=copy.total_charge,
        insurance_open=insurance_open,
        patient_open=patient_open,
    )
    found: list[Mismatch] = []
    if remittance.payer_id != claim.payer_id:
        found.append(
            Mismatch(
                field="body.claim_id",
                rule="same_payer",
                hard=True,
                message=f"The remittance is {remittance.payer_id}'s, the claim was sent to {claim.payer_id}: "
                "an override with a reason, approved by a second person, is needed.",
            )
        )
    if remittance.patient_control_number != claim.patient_control_number:
        found.append(
            Mismatch(
                field="body.claim_id",
                rule="same_patient_control_number",
                hard=False,
                message="CLP01 is not the claim's patient control number: check the patient and dates.",
            )
        )
    charge = -remittance.charge if remittance.status_code == REVERSAL else remittance.charge
    if charge != claim.charge:
        found.append(
            Mismatch(
                field="body.claim_id",
                rule="same_charge",
                hard=False,
                message=f"CLP03 is {charge}, the claim's charge {claim.charge}.",
            )
        )
    hard = any(m.hard for m in found)
    return MatchCheck(
        unmatched_id=parked.id, remittance=remittance, claim=claim, mismatches=found, override_required=hard
    )


def approval_summary(result: MatchCheck) -> dict[str, Any]:
    """What the approver of an override sees: both ids and the amounts (no PHI)."""
    return {
        "unmatched_id": str(result.unmatched_id),
        "claim_id": str(result.claim.claim_id),
        **{f"remittance_{k}": str(v) for k, v in result.remittance.model_dump().items()},
        **{f"claim_{k}": str(v) for k, v in result.claim.model_dump().items() if k != "claim_id"},
        "account_id": result.claim.account_id,
        "mismatches": [m.rule for m in result.mismatches],
    }


def command(unmatched_id: uuid.UUID, claim_id: uuid.UUID) -> dict[str, str]:
    return {"unmatched_id": str(unmatched_id), "claim_id": str(claim_id)}
