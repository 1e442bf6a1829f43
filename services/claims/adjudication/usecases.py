"""Applying payers' answers to sent claims, a consumer poll at a time: acknowledgments and
rejections (277CA), adjudications (payment.posted from an 835), the denials they queue, and
the claim to the next payer when a balance is left and another payer is on file.

An answer about a claim we do not know (another system's, or a test's) is ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.adjudication import domain
from services.claims.adjudication.domain import OtherPayers
from services.claims.claims import domain as claims_domain, store as claims_store, usecases as claims
from services.claims.claims.tables import Claim
from services.claims.denials import store as denials_store, usecases as denials
from services.claims.followups import usecases as followups
from services.claims.receivables import usecases as receivables
from services.claims.reference import store as reference
from services.claims.scrubbing import store as scrubbing_store
from services.claims.submission import usecases as submission
from shared.consumer import in_context
from shared.events import Event, new_event
from shared.events.catalogue import Adjustment, ClaimAcknowledged, ClaimDenied, ClaimRejected, PaymentPosted
from shared.outbox import add_event
from shared.problems import ProblemError


async def accept_claims(session: AsyncSession, events: Sequence[Event]) -> None:
    """Payers' acknowledgments for a whole poll: matched as find_claims matches, the first per
    claim counting (a second finds it accepted already), in three statements and without ORM
    objects; a claim already answered (paid, rejected, ...) is left as it is."""
    acks = [e.data for e in events]
    assert all(isinstance(a, ClaimAcknowledged) for a in acks)
    matched = await claims_store.match_ids(session, [(a.claim_id, a.patient_control_number) for a in acks])  # type: ignore[union-attr]
    await followups.record_277ca(session, events, matched)  # the 277CA's STC codes, kept
    chosen: dict[uuid.UUID, tuple[str | None, str]] = {}
    for event, ack, claim_id in zip(events, acks, matched, strict=True):
        if claim_id is not None and claim_id not in chosen:
            chosen[claim_id] = (ack.payer_claim_control_number, claims_domain.event_actor(event))  # type: ignore[union-attr]
    if not chosen:
        return
    when = claims_domain.now()
    moved = await claims_store.accept(session, {i: pccn for i, (pccn, _) in chosen.items()}, when)
    rows = [
        {
            "claim_id": claim_id,
            "from_status": "submitted",
            "to_status": "accepted",
            "actor": chosen[claim_id][1],
            "reason": "277CA accepted",
            "changed_at": when,
        }
        for claim_id in moved
    ]
    await claims_store.insert_history(session, rows)


async def reject_claims(session: AsyncSession, events: Sequence[Event]) -> None:
    """Claims the payer's front end rejected (277CA); one lookup for the poll."""
    rejections = [e.data for e in events]
    keys = [(r.claim_id, r.patient_control_number) for r in rejections]  # type: ignore[union-attr]
    found = await claims_store.find_claims(session, keys)
    await followups.record_277ca(session, events, [c.id if c is not None else None for c in found])
    for event, rejection, claim in zip(events, rejections, found, strict=True):
        assert isinstance(rejection, ClaimRejected)
        if claim is None or claim.status not in ("submitted", "accepted"):
            continue
        reasons = "; ".join(f"{r.code}: {r.message}" for r in rejection.reasons)[:500]
        claims.set_status(
            session, claim, "rejected", claims_domain.event_actor(event), f"277CA rejected: {reasons}"
        )


async def apply_payments(session: AsyncSession, events: Sequence[Event]) -> None:
    """Insurers' adjudications, applied to their claims; one lookup for the poll (patients'
    payments are the payments service's business, not the claim's)."""
    mine = [e for e in events if isinstance(e.data, PaymentPosted) and e.data.source == "insurer"]
    if not mine:
        return
    found = await claims_store.find_claims(
        session, [(e.data.claim_id, e.data.patient_control_number) for e in mine]
    )  # type: ignore[union-attr]
    pairs = sorted({(c.patient_id, c.payer_id) for c in found if c is not None})
    other_payers = await scrubbing_store.latest_other_payers(session, pairs)
    for event, claim in zip(in_context(mine), found, strict=True):
        posted = event.data
        assert isinstance(posted, PaymentPosted)
        if claim is None or claim.status in claims_domain.EDITABLE:
            continue
        await apply_payment(session, claim, posted, claims_domain.event_actor(event), other_payers)


async def apply_payment(
    session: AsyncSession, claim: Claim, posted: PaymentPosted, actor: str, other_payers: OtherPayers
) -> None:
    """An insurer's adjudication: paid, partial or denied; denials go to the queue and out as
    claim.denied; a balance left with another payer on file bills that payer next. A void's
    answer and a reversal settle voids; a paid replacement retires its original; a voided or
    replaced claim takes no answer any more.
    `other_payers`: the latest eligibility checks' other payers, read for a whole batch."""
    # A payment.posted delivered again (the same payment_id) applies once. Dedupe is by payment,
    # not by trace number: one 835 (one TRN02) often carries a reversal and its correction.
    seen = domain.applied_payments(claim)
    if str(posted.payment_id) in seen:
        return
    seen.append(str(posted.payment_id))
    await receivables.on_posted(session, claim, posted)  # the money, whatever the claim's status
    if claim.frequency_code == "8" and posted.claim_status_code != "4":
        await answer_void(session, claim, posted, actor)
        claim.adjudication = {**(claim.adjudication or {}), "payment_ids": seen}
        return
    if posted.claim_status_code == "22":
        await take_reversal(session, claim, posted, actor, seen)
        return
    if claim.status in claims_domain.FINAL:
        claim.adjudication = {**(claim.adjudication or {}), "payment_ids": seen}
        return
    denied = [a for a in posted.adjustments if domain.is_denial(a)]
    status = domain.status_after(posted, denied)
    when = claims_domain.now()
    claim.paid_amount = posted.amount
    claim.allowed_amount = posted.allowed
    claim.patient_responsibility = posted.patient_responsibility
    claim.payer_claim_control_number = posted.payer_claim_control_number or claim.payer_claim_control_number
    claim.adjudicated_at = when
    claim.adjudication = domain.adjudication_record(posted, seen)
    if status not in claims_domain.TRANSITIONS[claim.status]:
        return
    codes = ",".join(f"{a.group_code}-{a.reason_code}" for a in posted.adjustments) or "none"
    claims.set_status(session, claim, status, actor, f"paid {posted.amount}; adjustments {codes}")
    if denied:
        _queue_denial(session, claim, posted, denied, when)
    if claim.frequency_code == "7" and status != "denied":
        await retire_replaced(session, claim, posted, actor)
    if claim.frequency_code != "8":  # a void the payer refused (CLP02 4) bills nobody
        await bill_next_payer(session, claim, posted, actor, other_payers)


async def take_reversal(
    session: AsyncSession, claim: Claim, posted: PaymentPosted, actor: str, seen: list[str]
) -> None:
    """CLP02 = 22: the payer took back what it paid on this claim (835 005010X221A1, claim
    reversals: CLP01 and CLP07 are the reversed claim's). When a void of the claim waits, this
    is that void's answer; when a replacement or void was sent, that claim carries the visit.
    Otherwise the payer reverses and corrects its own adjudication: the claim is open again,
    awaiting the corrected adjudication (often in the same 835), and counts in A/R again."""
    reopen = claim.status in claims_domain.REVERSIBLE and claim.adjudication is not None
    reversed_already = bool((claim.adjudication or {}).get("reversed_by"))
    claim.adjudication = {
        **(claim.adjudication or {}),
        "reversed_by": str(posted.payment_id),
        "payment_ids": seen,
    }
    claims_store.stage(session, claim)
    follow_ons = await claims_store.follow_ons(session, claim.id, lock=True)
    waiting = [c for c in follow_ons if c.frequency_code == "8" and c.status in claims_domain.WAITING]
    if waiting:
        await answer_void(session, waiting[-1], posted, actor, original=claim)
    elif reopen and not follow_ons and not reversed_already:
        claim.paid_amount = (claim.paid_amount or Decimal("0.00")) + posted.amount
        claims.set_status(session, claim, "accepted", actor, "835 reversal")
        await denials_store.resolve_open(session, claim.id, "reversed: 835 CLP02 22", claims_domain.now())


async def answer_void(
    session: AsyncSession, void: Claim, posted: PaymentPosted, actor: str, original: Claim | None = None
) -> None:
    """The payer's answer to a void (837P CLM05-3 = 8): the reversal of the original, or a
    (zero) payment on the void itself. The void is done (closed) and the original voided for
    good; neither waits in follow-ups nor counts in A/R. A void answered already, or not sent,
    is left as it is."""
    if void.status not in claims_domain.WAITING:
        return
    void.adjudication = domain.adjudication_record(posted, [str(posted.payment_id)])
    void.payer_claim_control_number = void.payer_claim_control_number or posted.payer_claim_control_number
    answer = f"835 CLP02 {posted.claim_status_code}, payer claim {posted.payer_claim_control_number or '-'}"
    claims.set_status(session, void, "closed", actor, f"void confirmed: {answer}")
    if original is None and void.original_claim_id is not None:
        original = await claims_store.get_claim(session, void.original_claim_id, lock=True)
    if original is not None and "voided" in claims_domain.TRANSITIONS[original.status]:
        reason = f"voided by {void.patient_control_number}: {answer}"
        claims.set_status(session, original, "voided", actor, reason)


async def retire_replaced(
    session: AsyncSession, replacement: Claim, posted: PaymentPosted, actor: str
) -> None:
    """A replacement (837P CLM05-3 = 7) the payer paid: its original is replaced for good, so a
    late copy of the original's old 835 cannot reopen it."""
    if replacement.original_claim_id is None:
        return
    original = await claims_store.get_claim(session, replacement.original_claim_id, lock=True)
    if original is not None and "replaced" in claims_domain.TRANSITIONS[original.status]:
        reason = f"replaced by {replacement.patient_control_number}, paid {posted.amount}"
        claims.set_status(session, original, "replaced", actor, reason)


def _queue_denial(
    session: AsyncSession, claim: Claim, posted: PaymentPosted, denied: list[Adjustment], when: datetime
) -> None:
    """The denial into the work queue, and out as claim.denied, with what to do and why."""
    advice = domain.recommend(denied, posted)
    remarks = domain.remark_codes(posted)
    denied_amount = sum((a.amount for a in denied), Decimal("0.00"))
    denials.queue_denial(session, claim, posted, denied, advice, remarks, denied_amount, when)
    add_event(
        session,
        new_event(
            ClaimDenied(
                claim_id=claim.id,
                payer_id=claim.payer_id,
                patient_id=claim.patient_id,
                adjustments=denied,
                remark_codes=remarks,
                action=advice.action,  # type: ignore[arg-type]
                denied_at=when,
                patient_control_number=claim.patient_control_number,
                payer_claim_control_number=posted.payer_claim_control_number,
                denied_amount=denied_amount,
                why=advice.why[:500],
            )
        ),
    )


async def bill_next_payer(
    session: AsyncSession, claim: Claim, posted: PaymentPosted, actor: str, other_payers: OtherPayers
) -> Claim | None:
    """Secondary (or tertiary) billing: a new claim carrying this payer's adjudication, sent at
    once when policy says so (a claim with scrubber errors stays for a person to work)."""
    if domain.balance_left(claim, posted) <= 0:
        return None
    nxt = domain.next_coverage(claim, other_payers)
    if nxt is None or await claims_store.has_next_payer_claim(session, claim.id):
        return None
    data = domain.next_payer_data(claim, posted, nxt)
    new = await claims.create(session, data, actor, primary_claim_id=claim.id, encounter_id=None)
    if reference.auto_submit_secondary():
        try:
            await submission.submit_claim(session, new, actor)
        except ProblemError:
            pass  # stays a draft (or ready) with its scrub findings for a person to work
    return new
