"""The rules of a payer's answer, with no I/O: which adjustments are denials and what to do
about them, what status a payment leaves the claim in, and what the next payer is billed
(the balance, and the prior payer's adjudication per claim and per line)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.claims.claims.domain import data_of
from services.claims.claims.schemas import (
    AdjustmentIn,
    ClaimData,
    LineAdjudication,
    OtherCoverage,
    SubscriberIn,
)
from services.claims.claims.tables import Claim
from services.claims.denials.domain import Recommendation, all_remark_codes
from services.claims.reference import store as reference
from shared.events.catalogue import Adjustment, PaymentPosted

OtherPayers = dict[tuple[str, str], list[dict[str, Any]]]  # latest checks' other payers by (patient, payer)


def is_denial(adj: Adjustment | AdjustmentIn) -> bool:
    """Contractual write-downs and ordinary cost sharing are not denials; everything else is
    (data/denial_actions.csv, rows `not_a_denial`)."""
    return reference.denial_rules().is_denial(adj)


def recommend(denied: list[Adjustment], posted: PaymentPosted) -> Recommendation:
    """What to do about a denial and why, from data/denial_actions.csv: group code + CARC,
    and the remark codes (claim and line) where one decides."""
    return reference.denial_rules().recommend(denied, remark_codes(posted))


def remark_codes(posted: PaymentPosted) -> list[str]:
    """Every RARC of the adjudication: the claim's (MOA/MIA) first, then its lines' (LQ*HE)."""
    return all_remark_codes(posted.remark_codes, posted.line_remark_codes)


def status_after(posted: PaymentPosted, denials: list[Adjustment]) -> str:
    """Denied (CLP02 4, or nothing paid with denials), partial (paid with denials), else paid."""
    if posted.claim_status_code == "4" or (posted.amount == 0 and denials):
        return "denied"
    return "partial" if denials else "paid"


def adjudication_record(posted: PaymentPosted, trace_numbers: list[str]) -> dict[str, Any]:
    """What the claim keeps of a payer's adjudication (its `adjudication` column)."""

    def text(value: Decimal | None) -> str | None:
        return str(value) if value is not None else None

    return {
        "payment_id": str(posted.payment_id),
        "claim_status_code": posted.claim_status_code,
        "paid": str(posted.amount),
        "charge": text(posted.charge),
        "allowed": text(posted.allowed),
        "patient_responsibility": text(posted.patient_responsibility),
        "adjustments": [a.model_dump(mode="json") for a in posted.adjustments],
        "remark_codes": list(posted.remark_codes),
        "line_remark_codes": list(posted.line_remark_codes),
        "payer_claim_control_number": posted.payer_claim_control_number,
        "trace_number": posted.trace_number,
        "trace_numbers": trace_numbers,
    }


def balance_left(claim: Claim, posted: PaymentPosted) -> Decimal:
    """What is left for someone else to pay: the patient's share as the payer stated it, else the
    charge less the payment and the contractual write-off (CO), which nobody may bill."""
    if posted.patient_responsibility is not None:
        return posted.patient_responsibility
    written_off = sum((a.amount for a in posted.adjustments if a.group_code == "CO"), Decimal(0))
    return claim.total_charge - posted.amount - written_off


def next_coverage(claim: Claim, other_payers: OtherPayers) -> OtherCoverage | None:
    """The payer after this one: from the claim's own coverage list (the encounter's), else from
    the latest eligibility check's other payers (member id then taken from this claim).
    `other_payers`: those checks, read for a whole batch."""
    order = {"primary": "secondary", "secondary": "tertiary"}.get(claim.data.get("coverage_order", ""))
    if order is None:
        return None
    for other in claim.data.get("other_coverages") or []:
        if other.get("order") == order:
            return OtherCoverage.model_validate(other)
    for other in other_payers.get((claim.patient_id, claim.payer_id), []):
        if other.get("order") == order and other.get("payer_id") in reference.payers():
            data = data_of(claim)
            member = data.subscriber.member_id if data.subscriber else data.patient_id
            return OtherCoverage(
                payer_id=other["payer_id"],
                member_id=member,
                order=order,
                relationship_code=data.relationship_code,
            )
    return None


def next_payer_data(claim: Claim, posted: PaymentPosted, nxt: OtherCoverage) -> ClaimData:
    """Secondary (or tertiary) claim content: this claim to the next payer, carrying this
    payer's adjudication (loops 2320/2430) as its other coverage."""
    data = data_of(claim)
    this_payer = OtherCoverage(
        payer_id=claim.payer_id,
        member_id=data.subscriber.member_id if data.subscriber else nxt.member_id,
        order=data.coverage_order,
        relationship_code=data.relationship_code,
        paid=posted.amount,
        patient_responsibility=posted.patient_responsibility,
        adjudication_date=posted.posted_at.date(),
        payer_claim_control_number=posted.payer_claim_control_number,
        adjustments=[AdjustmentIn(**a.model_dump()) for a in posted.adjustments],
        lines=line_adjudications(data, posted),
    )
    subscriber = data.subscriber
    if nxt.subscriber is not None:
        subscriber = SubscriberIn(**nxt.subscriber.model_dump(), member_id=nxt.member_id)
    elif subscriber is not None:
        subscriber = subscriber.model_copy(update={"member_id": nxt.member_id})
    secondary = data.model_copy(
        update={
            "payer_id": nxt.payer_id,
            "coverage_order": nxt.order,
            "subscriber": subscriber,
            "relationship_code": nxt.relationship_code,
            "other_coverages": [this_payer],
            "frequency_code": "1",
            "original_payer_claim_control_number": None,
        }
    )
    return ClaimData.model_validate(secondary.model_dump(mode="json"))


def line_adjudications(data: ClaimData, posted: PaymentPosted) -> list[LineAdjudication]:
    """Loop 2430 per line. payment.posted carries the adjudication at claim level only, so the
    paid amount and each adjustment are spread over the lines in proportion to their charge,
    the last line taking the rounding, so the lines add up to the claim-level 2320 amounts."""
    total = data.total_charge
    if total <= 0:
        return []
    cent = Decimal("0.01")
    paid_left = posted.amount
    adj_left = [a.amount for a in posted.adjustments]
    out: list[LineAdjudication] = []
    for n, line in enumerate(data.lines, start=1):
        last = n == len(data.lines)
        share = line.charge / total
        paid = paid_left if last else (posted.amount * share).quantize(cent)
        paid_left -= paid
        adjustments = []
        for k, adj in enumerate(posted.adjustments):
            amount = adj_left[k] if last else (adj.amount * share).quantize(cent)
            adj_left[k] -= amount
            if amount > 0:
                adjustments.append(
                    AdjustmentIn(group_code=adj.group_code, reason_code=adj.reason_code, amount=amount)
                )
        out.append(LineAdjudication(line_number=n, paid=paid, adjustments=adjustments))
    return out
