"""The rules of a payer's answer, with no I/O: which adjustments are denials and what to do
about them, what status a payment leaves the claim in, and what the next payer is billed
(the balance, and the prior payers' adjudication per claim and per line, as their 835s said)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from services.claims.claims.domain import data_of
from services.claims.claims.schemas import (
    AdjustmentIn,
    ClaimData,
    LineAdjudication,
    LineIn,
    OtherCoverage,
    PersonIn,
    SubscriberIn,
)
from services.claims.claims.tables import Claim
from services.claims.denials.domain import Recommendation, all_remark_codes
from services.claims.reference import store as reference
from shared import receivables
from shared.events.catalogue import AdjudicatedLine, Adjustment, PaymentPosted

OtherPayers = dict[tuple[str, str], list[dict[str, Any]]]  # latest checks' other payers by (patient, payer)
ORDER = ["primary", "secondary", "tertiary"]
NEXT_ORDER = {"primary": "secondary", "secondary": "tertiary"}
Lines = list[LineAdjudication]
Placed = list[tuple[int, AdjudicatedLine]]  # (our line number, the 835 line that answers it)


def is_denial(adj: Adjustment | AdjustmentIn) -> bool:
    """Contractual write-downs and ordinary cost sharing are not denials; everything else is
    (shared.receivables: the one rule payments' ledger follows too)."""
    return receivables.is_denial(adj.group_code, adj.reason_code, adj.amount)


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


def applied_payments(claim: Claim) -> list[str]:
    """The payment.posted ids already applied to the claim (its adjudication keeps them)."""
    return list((claim.adjudication or {}).get("payment_ids", []))


def adjudication_record(posted: PaymentPosted, payment_ids: list[str]) -> dict[str, Any]:
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
        "payment_ids": payment_ids,
        "claim_adjustments": [a.model_dump(mode="json") for a in posted.claim_adjustments],
        "lines": [line.model_dump(mode="json") for line in posted.lines],
        "remittance_date": posted.remittance_date.isoformat() if posted.remittance_date else None,
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
    the latest eligibility check's other payers, with the member id that coverage has (271
    2110C REF*1W). Without one the next payer is not billed: this claim's member id is
    another payer's and would be denied. `other_payers`: those checks, read for a whole batch."""
    order = NEXT_ORDER.get(claim.data.get("coverage_order", ""))
    if order is None:
        return None
    for other in claim.data.get("other_coverages") or []:
        if other.get("order") == order:
            return OtherCoverage.model_validate(other)
    for other in other_payers.get((claim.patient_id, claim.payer_id), []):
        known = other.get("payer_id") in reference.payers()
        if other.get("order") == order and known and other.get("member_id"):
            return OtherCoverage(
                payer_id=other["payer_id"],
                member_id=other["member_id"],
                order=order,
                relationship_code=data_of(claim).relationship_code,
            )
    return None


def next_payer_data(claim: Claim, posted: PaymentPosted, nxt: OtherCoverage) -> ClaimData:
    """Secondary (or tertiary) claim content: this claim to the next payer, with every prior
    payer's adjudication (a 2320/2330 each: those this claim carried, then this payer's, from
    its 835) and the payers after the next one, still to adjudicate."""
    data = data_of(claim)
    claim_level, lines = prior_adjudication(data, posted)
    sub = data.subscriber
    this_payer = OtherCoverage(
        payer_id=claim.payer_id,
        member_id=sub.member_id if sub else nxt.member_id,
        order=data.coverage_order,
        relationship_code=data.relationship_code,
        subscriber=PersonIn(**sub.model_dump(exclude={"member_id", "group_number"})) if sub else None,
        group_number=sub.group_number if sub else None,
        paid=posted.amount,
        patient_responsibility=posted.patient_responsibility,
        adjudication_date=posted.remittance_date or posted.posted_at.date(),
        payer_claim_control_number=posted.payer_claim_control_number,
        adjustments=claim_level,
        lines=lines,
        # An institutional claim's 835 MIA/MOA, for the next payer's 837I 2320 MIA/MOA.
        inpatient=posted.inpatient,
        outpatient=posted.outpatient,
    )
    place = ORDER.index(nxt.order)
    prior = [o for o in data.other_coverages if o.paid is not None and ORDER.index(o.order) < place]
    later = [o for o in data.other_coverages if o.paid is None and ORDER.index(o.order) > place]
    # The next payer's own member id and group number (never this payer's).
    subscriber = sub
    coverage = {"member_id": nxt.member_id, "group_number": nxt.group_number}
    if nxt.subscriber is not None:
        subscriber = SubscriberIn(**nxt.subscriber.model_dump(), **coverage)
    elif subscriber is not None:
        subscriber = subscriber.model_copy(update=coverage)
    secondary = data.model_copy(
        update={
            "payer_id": nxt.payer_id,
            "coverage_order": nxt.order,
            "subscriber": subscriber,
            "relationship_code": nxt.relationship_code,
            "other_coverages": [*prior, this_payer, *later],
            # An original to the next payer; an interim bill (2-4) stays the interim bill it is.
            "frequency_code": data.frequency_code if data.frequency_code in ("2", "3", "4") else "1",
            "original_payer_claim_control_number": None,
        }
    )
    return ClaimData.model_validate(secondary.model_dump(mode="json"))


def prior_adjudication(data: ClaimData, posted: PaymentPosted) -> tuple[list[AdjustmentIn], Lines]:
    """This payer's adjudication as loops 2320 (claim-level CAS) and 2430 (per line) report it,
    taken from its 835 as payment.posted carries it: each SVC on the 837 line it answers, with
    its paid amount, units and CAS, and only the claim-level CAS at claim level, so that every
    adjustment is reported once. Without line detail, or when an 835 line cannot be placed on
    one of ours (or one of ours has none), everything is reported at claim level instead:
    nothing is spread or made up per line."""
    placed = match_lines(data.lines, posted.lines) if posted.lines else None
    if placed is None:
        return [_adjustment(a) for a in posted.adjustments], []
    lines = [_line_adjudication(n, data.lines[n - 1], paid) for n, paid in placed]
    return [_adjustment(a) for a in posted.claim_adjustments], lines


def _line_adjudication(n: int, billed: LineIn, paid: AdjudicatedLine) -> LineAdjudication:
    """One 2430: the procedure and units as adjudicated (the billed ones when the 835's are not
    an HCPCS code we can restate), what was paid, and the line's CAS."""
    same = paid.procedure_qualifier == "HC" and re.fullmatch(r"[A-Z0-9]{5}", paid.code) is not None
    modifiers = [m for m in paid.modifiers if re.fullmatch(r"[A-Z0-9]{2}", m)]
    return LineAdjudication(
        line_number=n,
        paid=paid.paid,
        adjustments=[_adjustment(a) for a in paid.adjustments],
        code=paid.code if same else billed.code,
        modifiers=modifiers if same else billed.modifiers,
        units=paid.units if paid.units is not None and paid.units > 0 else billed.units,
    )


def match_lines(billed: list[LineIn], paid: list[AdjudicatedLine]) -> Placed | None:
    """Which of our lines (1-based) each 835 line answers: the line payments placed it on
    (`line_number`: REF*6R, else revenue code + HCPCS + date, so two lines with one HCPCS under
    different revenue codes are told apart), else the line item control number we sent (REF*6R,
    echoed), else the first line not yet answered with the same code and charge, then the same
    code. None unless every 835 line is placed and every one of ours is answered."""
    placed: Placed = []
    used: set[int] = set()
    for line in paid:
        ref = line.line_item_control_number or ""
        n = line.line_number if line.line_number is not None and line.line_number not in used else None
        if n is None or n > len(billed):
            n = int(ref) if ref.isdigit() and 1 <= int(ref) <= len(billed) else None
        if n is None:
            free = [i for i in range(1, len(billed) + 1) if i not in used and _answers(billed[i - 1], line)]
            n = next((i for i in free if billed[i - 1].charge == line.charge), free[0] if free else None)
        if n is None:
            return None
        used.add(n)
        placed.append((n, line))
    return placed if used == set(range(1, len(billed) + 1)) else None


def _answers(billed: LineIn, paid: AdjudicatedLine) -> bool:
    """The 835 line is about this billed line's service: the same procedure (SVC01 HC), or, for
    an institutional line billed by revenue code alone, that revenue code (SVC01 NU)."""
    if paid.procedure_qualifier == "NU":
        return billed.code is None and billed.revenue_code == paid.code
    return billed.code == paid.code


def _adjustment(adj: Adjustment) -> AdjustmentIn:
    return AdjustmentIn(group_code=adj.group_code, reason_code=adj.reason_code, amount=adj.amount)
