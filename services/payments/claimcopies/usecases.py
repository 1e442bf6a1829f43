"""Keeping submitted claims: the copy, the charges of a new primary claim, the original's
charges retired by a corrected or voided claim, and parked remittance claims that waited
for it posted now (the 835 arrived first). One claim at a time (`record_claim`) or a
poll's claims with a few statements (`record_claims`), with the same effects.

With several replicas the claim and its 835 can be handled at the same moment on two of
them; keeping claims and parking an 835 claim for want of one wait for each other
(`store.lock_copies`), so one of them always sees the other's row. `rematch_stranded` (a worker) posts
what was stranded before that lock existed, or by anything else that left a parked claim
with its claim on file."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts import store as ledger
from services.payments.claimcopies import domain, store
from services.payments.claimcopies.domain import CORRECTED_OR_VOID
from services.payments.postings import store as postings
from services.payments.postings.usecases import match_unmatched
from shared import context
from shared.consumer import in_context
from shared.events import Event
from shared.events.catalogue import ClaimSubmitted

log = logging.getLogger(__name__)
LATE_MATCH = "system:late-match"
SWEEP = "system:late-match-sweep"
ZERO = Decimal("0.00")


async def _keep(session: AsyncSession, claims: Sequence[ClaimSubmitted]) -> set[uuid.UUID]:
    """The copies of claims not kept yet, the charges of those, and for a later payer's claim
    the balance the previous payer left to the patient moved to it; returns their ids. Rows
    are dated when the claim was sent (claims' A/R dates its rows so too)."""
    if not claims:
        return set()
    new = await store.insert_copies(session, [domain.copy_row(c) for c in claims])
    kept = [c for c in claims if c.claim_id in new]
    entries = [(entry, c.submitted_at) for c in kept for entry in domain.charges(c)]
    later = [c for c in kept if c.primary_claim_id is not None and c.frequency_code == "1"]
    if later:
        previous = [c.primary_claim_id for c in later if c.primary_claim_id]
        primaries = await store.copies(session, previous)
        moved = await store.cost_sharing_moved(session, previous)
        for c in later:
            primary = primaries.get(c.primary_claim_id)  # type: ignore[arg-type]
            if primary is not None:
                found = moved.get(primary.claim_id, ZERO)
                entries += [(e, c.submitted_at) for e in domain.next_payer_moves(c, primary, found)]
    await ledger.append(session, [e for e, _ in entries], times=[at for _, at in entries])
    return new


async def record_claim(session: AsyncSession, claim: ClaimSubmitted) -> None:
    """Keep the claim (PCN → claim, account, payer, charges); a primary claim puts its
    charges on the patient's account, with insurance. Parked remittance claims with this
    PCN and payer are posted now. A claim kept before is a no-op."""
    await store.lock_copies(session, shared=True)  # an 835 that found no claim commits first
    if not await _keep(session, [claim]):
        return
    key = (claim.patient_control_number, claim.payer_id)
    waiting = (await postings.waiting(session, [key])).get(key, [])
    if claim.frequency_code in CORRECTED_OR_VOID:
        await retire_original(session, claim)
    copy = domain.copy_of(claim)
    for unmatched_id in waiting:
        await match_unmatched(session, unmatched_id, copy, actor=LATE_MATCH, matched_by="late")


async def record_claims(session: AsyncSession, events: Sequence[Event]) -> None:
    """`record_claim` for a poll's claims, with a few statements for all of them in the
    usual case. A claim id seen earlier in the poll is a no-op (its copy exists by then,
    as it would one event later). Corrected and voided claims, and claims a parked
    remittance claim waits for, take the one-claim path in their place in the order,
    after the claims before them are written."""
    await store.lock_copies(session, shared=True)  # an 835 that found no claim commits first
    seen: set[uuid.UUID] = set()
    by_claim: dict[uuid.UUID, Event] = {}
    run: list[ClaimSubmitted] = []
    for event in in_context(events):
        claim = event.data
        assert isinstance(claim, ClaimSubmitted)
        if claim.claim_id in seen:
            continue
        seen.add(claim.claim_id)
        by_claim[claim.claim_id] = event
        if claim.frequency_code in CORRECTED_OR_VOID:
            await _record_run(session, run, by_claim)
            run = []
            await record_claim(session, claim)
        else:
            run.append(claim)
    await _record_run(session, run, by_claim)


async def _record_run(
    session: AsyncSession, claims: list[ClaimSubmitted], by_claim: dict[uuid.UUID, Event]
) -> None:
    """Original claims in a row: kept together unless a parked claim waits for one. Then
    (rare: the 835 came first) they are kept in order, each waited-for one on its own,
    posting what waits for it with its own event's correlation id."""
    if not claims:
        return
    waiting = await postings.waiting(session, [(c.patient_control_number, c.payer_id) for c in claims])
    run: list[ClaimSubmitted] = []
    for claim in claims:
        if (claim.patient_control_number, claim.payer_id) not in waiting:
            run.append(claim)
            continue
        await _keep(session, run)
        run = []
        for _ in in_context([by_claim[claim.claim_id]]):
            await record_claim(session, claim)
    await _keep(session, run)


async def retire_original(session: AsyncSession, claim: ClaimSubmitted) -> None:
    """A corrected (7) or voided (8) claim takes what the original still has with insurance off
    the account (its denied or unanswered charges), as one adjustment on the original item
    (once; a reversal of the original is retired as it is posted). The original: the claim the payer paid
    under the original payer claim control number, else the newest earlier claim with this
    patient control number."""
    original = None
    if claim.original_payer_claim_control_number:
        original = await postings.latest_by_payer_ccn(session, claim.original_payer_claim_control_number)
    if original is None:
        original = await store.previous(
            session, claim.claim_id, claim.patient_control_number, claim.submitted_at
        )
    if original is None:
        log.warning("corrected or void claim without an original on file; nothing retired")
        return
    balance, retired, dos, rows = await store.item_insurance(session, original.claim_id)
    if retired or not rows:
        return
    entry = domain.retirement(
        original.claim_id, original.account_id, balance, dos, domain.retired_what(claim)
    )
    await ledger.append(session, [entry], claim.submitted_at)


async def rematch_stranded(sessions: Any, *, limit: int = 100) -> int:
    """Post, through the one posting path, parked claims whose claim of the same payer is on
    file, in one transaction per round; returns how many were posted. Idempotent across
    replicas and rounds: the rows are taken with SKIP LOCKED and `match_unmatched` posts only
    an item still open, in the same transaction that resolves it. `sessions()` opens a session."""
    async with sessions() as session, session.begin():
        rows = await store.claim_stranded(session, limit)
        copies = await store.for_835(session, [(r.patient_control_number, r.payer_id) for r in rows])
        posted = 0
        for row in rows:
            context.start()  # each posting's events get a correlation id of their own
            copy = copies.get((row.patient_control_number, row.payer_id))
            if copy is not None and await match_unmatched(
                session, row.id, copy, actor=SWEEP, matched_by="late"
            ):
                posted += 1
        if posted:
            log.warning("stranded parked claims posted to their claims", extra={"posted": posted})
    return posted
