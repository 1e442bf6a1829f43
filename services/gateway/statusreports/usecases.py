"""Every 277 X212 claim status response, whichever way it came (the answer to our real-time
276, a 277 file in the mailbox, a hand upload), read to one `claim.status_reported` per claim
through the outbox, in the transaction that records the answer. It is the inbound processing's
reader of 277s; the inquiries it answers are the claimstatus sub-domain's."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.claimstatus import domain, store
from services.gateway.claimstatus.domain import ClaimAnswer, Code
from services.gateway.claimstatus.x12 import read_277
from services.gateway.inbound.domain import UNMATCHED, Outcome, Received
from shared.events import new_event
from shared.events.catalogue import ClaimStatusCode, ClaimStatusReported, LineStatus
from shared.outbox import add_events
from shared.x12 import Interchange

log = logging.getLogger("gateway.claimstatus")


def _status(code: Code, free_text: str | None = None) -> ClaimStatusCode:
    return ClaimStatusCode(
        category_code=code.category[:3],
        status_code=code.status[:5] if code.status else None,
        entity_code=code.entity[:3] if code.entity else None,
        category_description=domain.category_description(code.category),
        status_description=domain.status_description(code.status),
        free_text=(free_text or None) and free_text[:264],
    )


def _report(
    answer: ClaimAnswer, claim_id: Any, inquiry: Any, pcn: str, received_at: datetime
) -> ClaimStatusReported:
    return ClaimStatusReported(
        claim_id=claim_id,
        patient_control_number=pcn[:38],
        payer_id=(inquiry.payer_id if inquiry is not None else None) or answer.payer_id,
        payer_claim_control_number=answer.payer_claim_control_number,
        inquiry_id=inquiry.id if inquiry is not None else None,
        trace_number=answer.trace_number[:50] if answer.trace_number else None,
        source="277",
        statuses=[_status(c, answer.free_text if n == 0 else None) for n, c in enumerate(answer.codes)],
        effective_date=answer.effective_date,
        total_charge=answer.total_charge,
        paid_amount=answer.paid_amount,
        adjudicated_on=answer.adjudicated_on,
        check_number=answer.check_number[:16] if answer.check_number else None,
        lines=[
            LineStatus(
                procedure_code=line.procedure_code,
                charge=line.charge,
                paid=line.paid,
                statuses=[_status(c) for c in line.codes],
            )
            for line in answer.lines
        ],
        received_at=received_at,
    )


async def on_277(session: AsyncSession, file_row: Received, interchange: Interchange) -> Outcome:
    """Read a 277 X212 (whichever way it came) to one `claim.status_reported` per claim, in the
    caller's transaction: matched by the trace number our 276 sent (2200D/E TRN02), else by the
    patient control number (REF*EJ) among the claims we filed. An answer naming neither is
    counted, not published; a 277 naming none of our claims goes to review."""
    answers = read_277(interchange)
    for warning in interchange.warnings:
        log.warning(
            "277 read with a warning", extra={"file_id": str(file_row.id), "warning": warning.message}
        )
    inquiries = await store.by_trace(session, [a.trace_number for a in answers if a.trace_number])
    received_at = file_row.received_at
    events, unmatched = [], 0
    for answer in answers:
        inquiry = inquiries.get(answer.trace_number or "")
        pcn = answer.patient_control_number or (
            inquiry.patient_control_number if inquiry is not None else None
        )
        if not answer.codes or not pcn:
            unmatched += 1
            continue
        claim_id = inquiry.claim_id if inquiry is not None else None
        if claim_id is None:
            found = await store.claim_by_pcn(session, pcn, file_row.partner_id)
            claim_id = found.claim_id if found is not None else None
        events.append(new_event(_report(answer, claim_id, inquiry, pcn, received_at)))
        if inquiry is not None:
            codes = [
                {"code": c.compact, "description": domain.category_description(c.category)}
                for c in answer.codes
            ]
            await store.answered(session, inquiry.id, file_row.id, codes, datetime.now(UTC))
    await add_events(session, events)
    if unmatched:
        log.info("277 claims not ours", extra={"file_id": str(file_row.id), "unmatched": unmatched})
    if not events:
        return Outcome.to_review(UNMATCHED, "no claim of the 277 is ours", segment="TRN")
    return Outcome(counts={"claims_reported": len(events)})
