"""Posting rules without I/O: which ledger entries a remittance claim makes, what its
posting row and `payment.posted` event say, why a claim is parked, and how a parked claim
is kept (JSON) until it can be posted."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from services.payments.accounts.domain import Entry
from services.payments.claimcopies.domain import ClaimCopy
from services.payments.institutional import domain as institutional
from services.payments.remittances.domain import Adjustment835, Claim835, Line835
from shared import receivables
from shared.events import Event, new_event
from shared.events.catalogue import AdjudicatedLine, Adjustment, PaymentPosted

REVERSAL = "22"
ZERO = Decimal("0.00")
# Why a claim is parked when no claim of the remittance's payer was found for it: a claim of
# that payer arriving later is posted to it (`claimcopies`: on arrival, and by the sweep).
NO_CLAIM = "no claim with this patient control number"
OTHER_PAYER = "the claim with this patient control number was sent to another payer"


@dataclass(frozen=True)
class RemittanceRef:
    """What a claim posting needs to know of its remittance."""

    id: uuid.UUID
    payer_id: str
    trace_number: str
    method: str  # ach, check, eft, other
    paid_date: date | None = None  # BPR16


def why_parked(claim: Claim835, copy: ClaimCopy | None, payer_id: str) -> str | None:
    """Why a remittance claim cannot be posted to the claim found for it (None: it can; a
    reversal finds its original posting instead)."""
    if claim.status_code == REVERSAL or (copy is not None and copy.payer_id == payer_id):
        return None
    return NO_CLAIM if copy is None else OTHER_PAYER


def ledger_entries(
    claim: Claim835, copy: ClaimCopy, posting_id: uuid.UUID, open_insurance: Decimal = ZERO
) -> list[Entry]:
    """What a claim's adjudication moves, by the rule claims' A/R follows too
    (shared.receivables): payer money and contractual write-downs leave the insurance bucket,
    cost sharing moves to the patient, and a denied amount stays with insurance until it is
    worked. A secondary/tertiary claim's charge was never added again: its insurance bucket
    holds what the previous payer left to the patient (`open_insurance`), moved to it when it
    was billed."""
    primary = copy.coverage_order == "primary"
    common = {
        "account_id": copy.account_id,
        "item_id": copy.claim_id,
        "claim_id": copy.claim_id,
        "posting_id": posting_id,
        "service_date": copy.date_of_service,
    }
    moves = receivables.posting_moves(
        claim.paid, claim.all_adjustments, primary=primary, open_insurance=open_insurance
    )
    return [
        Entry(
            entry_type=move.entry_type,
            amount=amount,
            bucket=bucket,
            description=move.description,
            group_code=move.group_code,
            reason_code=move.reason_code,
            **common,
        )
        for move in moves
        for bucket, amount in (("insurance", move.insurance), ("patient", move.patient))
        if amount
    ]


def negated(original: list[Entry], posting_id: uuid.UUID) -> list[Entry]:
    """The exact opposite of a posting's ledger entries, for the posting that reverses it."""
    return [
        Entry(
            account_id=e.account_id,
            entry_type=e.entry_type,
            amount=-e.amount,
            bucket=e.bucket,
            description=f"Reversal: {e.description}",
            item_id=e.item_id,
            claim_id=e.claim_id,
            posting_id=posting_id,
            group_code=e.group_code,
            reason_code=e.reason_code,
            service_date=e.service_date,
        )
        for e in original
    ]


@dataclass(frozen=True)
class Target:
    """Where a claim's posting goes: its claim and account, and the posting it reverses."""

    claim_id: uuid.UUID
    account_id: str
    reverses: uuid.UUID | None = None
    claim_type: str = "professional"  # the claim copy's (a reversal: the original posting's)


def posting_row(
    posting_id: uuid.UUID,
    remittance: RemittanceRef,
    claim: Claim835,
    target: Target,
    *,
    matched_by: str,
    now: datetime,
) -> dict[str, Any]:
    """The claim's `claim_postings` row."""
    return {
        "id": posting_id,
        "remittance_id": remittance.id,
        "claim_id": target.claim_id,
        "account_id": target.account_id,
        "payer_id": remittance.payer_id,
        "patient_control_number": claim.patient_control_number,
        "payer_claim_control_number": claim.payer_claim_control_number or None,
        "status_code": claim.status_code,
        "charge": claim.charge,
        "paid": claim.paid,
        "allowed": claim.allowed,
        "patient_responsibility": claim.patient_responsibility,
        "adjustments": _json(adjustments_json(claim)),
        "remark_codes": _json(claim.remark_codes),
        "lines": _json([_line_json(line) for line in claim.lines]),
        "reverses_posting_id": target.reverses,
        "matched_by": matched_by,
        "clp_position": claim.position,
        "posted_at": now,
        "claim_type": target.claim_type,
        "facility_type_code": claim.facility_type_code or None,
        "frequency_code": claim.frequency_code or None,
        "drg_code": claim.drg_code or None,
        "drg_weight": claim.drg_weight,
        "inpatient": _json(_plain(claim.inpatient)) if claim.inpatient else None,
        "outpatient": _json(_plain(claim.outpatient)) if claim.outpatient else None,
    }


def payment_posted(
    posting_id: uuid.UUID, remittance: RemittanceRef, claim: Claim835, target: Target, now: datetime
) -> Event:
    """The claim's `payment.posted` (claims and notifications hear of the adjudication): the
    totals by group and reason, and the 835 as it was (claim-level CAS, each SVC with its
    CAS), which the next payer's claim restates in its loops 2320 and 2430."""
    return new_event(
        PaymentPosted(
            payment_id=posting_id,
            source="insurer",
            claim_id=target.claim_id,
            account_id=target.account_id,
            amount=claim.paid,
            method=remittance.method if remittance.method in ("eft", "check", "ach") else "other",
            posted_at=now,
            payer_id=remittance.payer_id,
            patient_control_number=claim.patient_control_number[:17],
            payer_claim_control_number=claim.payer_claim_control_number or None,
            claim_status_code=claim.status_code,
            charge=claim.charge,
            allowed=claim.allowed,
            patient_responsibility=claim.patient_responsibility,
            adjustments=[
                Adjustment(group_code=g, reason_code=c[:5], amount=a)  # type: ignore[arg-type]
                for (g, c), a in claim.adjustment_totals().items()
            ],
            remark_codes=claim.remark_codes,
            line_remark_codes=claim.line_remark_codes,
            trace_number=remittance.trace_number,
            claim_adjustments=_adjustments(claim.adjustments),
            lines=[_adjudicated_line(line) for line in claim.lines],
            remittance_date=remittance.paid_date,
            reverses_payment_id=target.reverses,
            claim_type=institutional.claim_type_of(target.claim_type),
            drg_code=claim.drg_code or None,
            drg_weight=claim.drg_weight,
            **_adjudication(claim),
        )
    )


def _adjudication(claim: Claim835) -> dict[str, Any]:
    """MIA and MOA as the contract states them for the next payer's 837I 2320. A reversal's
    negated MIA (covered days below zero) is not a prior payer's adjudication: it stays on the
    posting row and is left off the event."""
    try:
        return {
            "inpatient": claim.inpatient.contract() if claim.inpatient else None,
            "outpatient": claim.outpatient.contract() if claim.outpatient else None,
        }
    except ValueError:  # pydantic's ValidationError: out of the contract's range
        return {}


def place_lines(claim: Claim835, copy: ClaimCopy) -> None:
    """Which line of our claim each 835 line answers (`Line835.line_number`), by REF*6R, else
    revenue code + HCPCS + date of service (institutional lines may have no CPT/HCPCS); an 835
    line of an institutional claim that gives no revenue code takes its line's."""
    paid = [
        institutional.PaidLine(
            line.control_number, line.qualifier, line.code, line.revenue_code, line.charge, line.service_date
        )
        for line in claim.lines
    ]
    billed = institutional.billed_lines(copy.lines)
    by_number = {b.line_number: b for b in billed}
    for line, number in zip(claim.lines, institutional.place_lines(paid, billed), strict=True):
        line.line_number = number
        if number is not None and line.revenue_code is None:
            line.revenue_code = by_number[number].revenue_code


def _adjustments(adjustments: list[Adjustment835]) -> list[Adjustment]:
    return [
        Adjustment(group_code=a.group_code, reason_code=a.reason_code[:5], amount=a.amount)  # type: ignore[arg-type]
        for a in adjustments
    ]


def _adjudicated_line(line: Line835) -> AdjudicatedLine:
    """One SVC of the 835 for the event; REF*6R is the 837 line it answers, when echoed."""
    return AdjudicatedLine(
        line_item_control_number=line.control_number,
        procedure_qualifier=line.qualifier[:2] or "HC",
        code=line.code[:48],
        modifiers=line.modifiers[:4],
        charge=line.charge,
        paid=line.paid,
        units=line.units,
        allowed=line.allowed,
        adjustments=_adjustments(line.adjustments),
        service_date=line.service_date,
        revenue_code=institutional.revenue_code(line.revenue_code or ""),
        line_number=line.line_number,
    )


def adjustments_json(claim: Claim835) -> list[dict[str, str]]:
    """Claim and line CAS summed by (group, reason), as JSON (amounts as strings)."""
    return [
        {"group_code": g, "reason_code": c, "amount": str(a)}
        for (g, c), a in claim.adjustment_totals().items()
    ]


def research(parked: dict[str, Any]) -> dict[str, Any]:
    """What finds the claim a parked remittance claim pays (835 loop 2100 NM1*QC patient, NM1*IL
    insured, DTM*232/233 statement dates, else the lines' DTM*472; the CAS; loop 2110 lines).
    PHI: for the audited worklist only, never for logs."""
    claim = claim_from_json(parked)
    dates = sorted(d for d in (line.service_date for line in claim.lines) if d)
    return {
        "adjustments": adjustments_json(claim),
        "patient": asdict(claim.patient) if claim.patient else None,
        "subscriber": asdict(claim.subscriber) if claim.subscriber else None,
        "service_date_from": claim.statement_from or (dates[0] if dates else None),
        "service_date_to": claim.statement_to or (dates[-1] if dates else None),
        "lines": [{**_line_json(line), "service_date": line.service_date} for line in claim.lines],
    }


def unmatched_row(remittance_id: uuid.UUID, claim: Claim835, reason: str, now: datetime) -> dict[str, Any]:
    """A parked claim's `unmatched_claims` row; the whole claim is kept to post it later."""
    return {
        "id": uuid.uuid4(),
        "remittance_id": remittance_id,
        "patient_control_number": claim.patient_control_number,
        "payer_claim_control_number": claim.payer_claim_control_number or None,
        "status_code": claim.status_code,
        "charge": claim.charge,
        "paid": claim.paid,
        "patient_responsibility": claim.patient_responsibility,
        "reason": reason,
        "claim": claim_to_json(claim),
        "created_at": now,
    }


def _json(value: Any) -> bytes:
    """JSON text for a JSON column, encoded now: a poll's rows wait for one INSERT, and
    thousands of small lists and dicts kept alive until then cost the garbage collector
    more than the encoding (insert_many takes bytes as JSON already encoded)."""
    return json.dumps(value).encode()


def claim_to_json(claim: Claim835) -> dict[str, Any]:
    """A parked claim as JSON (amounts and dates as strings), to post it later."""
    return json.loads(json.dumps(asdict(claim), default=str))


_CLAIM = TypeAdapter(Claim835)


def claim_from_json(data: dict[str, Any]) -> Claim835:
    """`claim_to_json` read back: amounts, dates and the nested lines and adjustments typed again."""
    return _CLAIM.validate_python(data)


def _line_json(line: Line835) -> dict[str, Any]:
    return {
        "code": line.code,
        "modifiers": line.modifiers,
        "charge": str(line.charge),
        "paid": str(line.paid),
        "units": str(line.units) if line.units is not None else None,
        "allowed": str(line.allowed) if line.allowed is not None else None,
        "adjustments": [
            {"group_code": a.group_code, "reason_code": a.reason_code, "amount": str(a.amount)}
            for a in line.adjustments
        ],
        "remark_codes": line.remark_codes,
        "qualifier": line.qualifier,
        "revenue_code": line.revenue_code,
        "line_number": line.line_number,
    }


def _plain(value: Any) -> Any:
    """A dataclass as JSON-able values (amounts as strings)."""
    return json.loads(json.dumps(asdict(value), default=str))


def undoing(posting: Any) -> Claim835:
    """The claim that undoes a claim posting (a `claim_postings` row), for a remittance's
    replacement: its amounts negated, status 22 (reversal) — or, undoing a reversal, the
    status of the posting that reversal undid. Line adjustments stay on their lines; the
    rest of the posting's adjustment totals were the claim's own."""

    def adjustment(a: dict[str, Any], amount: Decimal) -> Adjustment835:
        return Adjustment835(a["group_code"], a["reason_code"], -amount)

    lines, on_lines = [], {}
    for line in posting.lines or []:
        for a in line["adjustments"]:
            key = (a["group_code"], a["reason_code"])
            on_lines[key] = on_lines.get(key, Decimal(0)) + Decimal(a["amount"])
        lines.append(
            Line835(
                qualifier=line.get("qualifier") or "HC",
                revenue_code=line.get("revenue_code"),
                code=line["code"],
                modifiers=line["modifiers"],
                charge=-Decimal(line["charge"]),
                paid=-Decimal(line["paid"]),
                units=Decimal(line["units"]) if line.get("units") is not None else None,
                adjustments=[adjustment(a, Decimal(a["amount"])) for a in line["adjustments"]],
            )
        )
    own = [
        (a, Decimal(a["amount"]) - on_lines.get((a["group_code"], a["reason_code"]), Decimal(0)))
        for a in posting.adjustments or []
    ]
    return Claim835(
        patient_control_number=posting.patient_control_number,
        status_code=posting.reversed_status if posting.status_code == REVERSAL else REVERSAL,
        charge=-posting.charge,
        paid=-posting.paid,
        patient_responsibility=-posting.patient_responsibility,
        filing_indicator="",
        payer_claim_control_number=posting.payer_claim_control_number or "",
        adjustments=[adjustment(a, amount) for a, amount in own if amount],
        lines=lines,
        position=posting.clp_position,
    )
