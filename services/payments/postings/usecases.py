"""The one posting path: every remittance claim of a poll's 835s (or of one upload) posted
to its claim or parked, with one statement per table; parked claims posted later by hand
or when their claim arrives, through the same `post_claim`.

A claim posting is one `claim_postings` row, its ledger entries, one `payment.posted`, and
the underpayments its lines show against the payer's fee schedule version in effect on their
dates of service (and the earlier underpayments of the claim it recovers). So for every remittance
`posted + unmatched = BPR amount` holds by construction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts import store as ledger
from services.payments.accounts.domain import Entry
from services.payments.claimcopies import domain as claimcopies_domain, store as claimcopies
from services.payments.claimcopies.domain import ClaimCopy
from services.payments.collections import usecases as collections
from services.payments.duplicates import domain as duplicates, store as duplicates_store
from services.payments.duplicates.domain import Live, LivePostings
from services.payments.postings import domain, store
from services.payments.postings.domain import REVERSAL, ZERO, RemittanceRef, Target
from services.payments.postings.schemas import UnmatchedOut
from services.payments.remittances.domain import Claim835, Remittance835
from services.payments.underpayments.usecases import ContractCheck, contract_check
from shared import context
from shared.events import Event
from shared.outbox import add_events
from shared.paging import DateRange, PageQuery


@dataclass
class PostingBatch:
    """Rows of many claims, written with one statement per table. `now` is when the claims
    staged next are posted (several remittances in one batch each keep their own);
    `contract` compares their lines with the payers' fee schedules."""

    now: datetime
    contract: ContractCheck
    postings: list[dict[str, Any]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    entry_times: list[datetime] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    async def flush(self, session: AsyncSession) -> None:
        await store.insert_postings(session, self.postings)
        await ledger.append(session, self.entries, times=self.entry_times)
        await collections.recall_paid(session, self.entries, self.now)  # a payment after referral
        await self.contract.flush(session)
        await add_events(session, self.events)
        self.postings, self.entries, self.entry_times, self.events = [], [], [], []

    def add_entries(self, entries: list[Entry]) -> None:
        self.entries.extend(entries)
        self.entry_times.extend([self.now] * len(entries))


@dataclass
class Arrived:
    """A remittance just stored, whose claims are to be posted. `event`: the event it came
    in; what its posting causes carries that event's correlation id and trace."""

    id: uuid.UUID
    payer_id: str
    remittance: Remittance835
    now: datetime
    event: Event | None = None


async def post_remittances(session: AsyncSession, arrived: Sequence[Arrived]) -> None:
    """Post or park every claim of these remittances, in order, each as if alone."""
    if not arrived:
        return
    copies = await claimcopies.for_835(
        session, [(c.patient_control_number, a.payer_id) for a in arrived for c in a.remittance.claims]
    )
    contract = await contract_check(
        session,
        [a.payer_id for a in arrived],
        [line.code for a in arrived for c in a.remittance.claims for line in c.lines],
        [copy.claim_id for copy in copies.values()],
    )
    batch = PostingBatch(now=arrived[0].now, contract=contract)
    live = await _live(
        session, [duplicates.key_of(a.payer_id, c) for a in arrived for c in a.remittance.claims]
    )
    unmatched: list[dict[str, Any]] = []
    parked: list[dict[str, Any]] = []
    for a in arrived:
        if a.event is not None:
            context.start(a.event.correlation_id, a.event.traceparent)
        batch.now = a.now
        ref = RemittanceRef(
            a.id, a.payer_id, a.remittance.trace_number, a.remittance.method, a.remittance.paid_date
        )
        for claim in a.remittance.claims:
            key = duplicates.key_of(a.payer_id, claim)
            original = live.find(key) if duplicates.is_adjudication(claim) else None
            if original is not None:  # this adjudication is posted already: never count it twice
                parked.append(
                    duplicates.duplicate_row(
                        remittance_id=a.id, payer_id=a.payer_id, claim=claim, original=original, now=a.now
                    )
                )
                continue
            copy = copies.get((claim.patient_control_number, a.payer_id))
            reason = domain.why_parked(claim, copy, a.payer_id)
            if reason is None:
                reason = await post_claim(session, batch, ref, claim, copy, matched_by="auto")
            if reason is not None:
                unmatched.append(domain.unmatched_row(a.id, claim, reason, a.now))
            else:
                _posted(live, key, batch.postings[-1])
    await batch.flush(session)
    await store.insert_unmatched(session, unmatched)
    await duplicates_store.insert(session, parked)


async def _live(session: AsyncSession, keys: list[duplicates.Key]) -> LivePostings:
    """The live postings of these adjudications, each locked until commit: a claim paid again
    in another file, posted at the same moment by another instance, waits here and then sees
    this posting (never a read-then-write race)."""
    await store.lock_adjudications(session, keys)
    return LivePostings(await store.live_postings(session, keys))


def _posted(live: LivePostings, key: duplicates.Key, posting: dict[str, Any]) -> None:
    """Keep the batch's live set current: a reversal takes its original out, anything else
    is the live posting of its adjudication now."""
    if posting["reverses_posting_id"] is not None:
        live.remove(posting["reverses_posting_id"])
    else:
        live.add(key, Live(posting["id"], posting["claim_id"], posting["account_id"]))


async def post_claim(
    session: AsyncSession,
    batch: PostingBatch,
    remittance: RemittanceRef,
    claim: Claim835,
    copy: ClaimCopy | None,
    *,
    matched_by: str,
) -> str | None:
    """Stage one claim's posting; returns why it cannot be posted (it is then parked).

    A reversal (CLP02 = 22) posts against the posting it reverses, found by patient control
    number and payer claim control number (or, matched by hand, by the claim chosen): a
    corrected claim (frequency 7) often reuses the PCN, so the newest claim with that PCN is
    not necessarily the one that was paid."""
    posting_id = uuid.uuid4()
    if claim.status_code == REVERSAL:
        await batch.flush(session)  # the original may be earlier in this same file
        original = await store.original_posting(
            session,
            pcn=claim.patient_control_number,
            payer_ccn=claim.payer_claim_control_number,
            claim_id=copy.claim_id if copy and matched_by in ("manual", "override") else None,
            payer_id=remittance.payer_id,
        )
        if original is None:
            return "reversal of a claim with no posting to reverse"
        target = Target(original.claim_id, original.account_id, original.id, original.claim_type)
        entries = domain.negated(await store.posting_entries(session, original.id), posting_id)
        entries += await _retired_again(session, target, entries, posting_id)
    else:
        assert copy is not None
        target = Target(copy.claim_id, copy.account_id, claim_type=copy.claim_type)
        domain.place_lines(claim, copy)
        open_insurance = ZERO
        if copy.coverage_order != "primary":  # its insurance bucket holds what was moved to it
            await batch.flush(session)
            open_insurance = (await claimcopies.item_insurance(session, copy.claim_id))[0]
        entries = domain.ledger_entries(claim, copy, posting_id, open_insurance)
    batch.add_entries(entries)
    batch.postings.append(
        domain.posting_row(posting_id, remittance, claim, target, matched_by=matched_by, now=batch.now)
    )
    batch.events.append(domain.payment_posted(posting_id, remittance, claim, target, batch.now))
    if claim.status_code != REVERSAL and copy is not None:
        # A line without DTM*472 takes the claim's date of service; a claim without one
        # (claim.submitted has it optional) the payment date, else the posting date.
        batch.events += batch.contract.check(
            claim,
            payer_id=remittance.payer_id,
            claim_id=target.claim_id,
            posting_id=posting_id,
            claim_dos=copy.date_of_service or remittance.paid_date or batch.now.date(),
            now=batch.now,
        )
    return None


async def _retired_again(
    session: AsyncSession, target: Target, entries: list[Entry], posting_id: uuid.UUID
) -> list[Entry]:
    """A reversal of a claim a corrected or void claim retired puts back with insurance what
    the payer had settled; that is retired at once too (the replacement carries the visit)."""
    _, retired, dos, _ = await claimcopies.item_insurance(session, target.claim_id)
    put_back = sum((e.amount for e in entries if e.bucket == "insurance"), ZERO)
    if not retired or not put_back:
        return []
    what = "reversed by the payer after its replacement or void"
    return [
        claimcopies_domain.retirement(target.claim_id, target.account_id, put_back, dos, what, posting_id)
    ]


async def match_unmatched(
    session: AsyncSession, unmatched_id: uuid.UUID, copy: ClaimCopy, actor: str, matched_by: str = "manual"
) -> uuid.UUID | None:
    """Post a parked claim against a claim chosen by hand (or found later); returns the
    posting id, or None when it was already resolved or still cannot be posted."""
    row = await store.lock_unmatched(session, unmatched_id)
    if row is None or row.resolved_at is not None:
        return None
    claim = domain.claim_from_json(row.claim)
    now = datetime.now(UTC)
    if duplicates.is_adjudication(claim):
        key = duplicates.key_of(row.payer_id, claim)
        original = (await _live(session, [key])).find(key)
        if original is not None:  # the same adjudication came in another file and posted
            parked = duplicates.duplicate_row(
                remittance_id=row.remittance_id,
                payer_id=row.payer_id,
                claim=claim,
                original=original,
                now=now,
                unmatched_id=unmatched_id,
            )
            await duplicates_store.insert(session, [parked])
            await store.resolve_unmatched(session, unmatched_id, None, actor, now)
            return None
    ref = RemittanceRef(row.remittance_id, row.payer_id, row.trace_number, row.method, row.paid_date)
    contract = await contract_check(
        session, [row.payer_id], [line.code for line in claim.lines], [copy.claim_id]
    )
    batch = PostingBatch(now=now, contract=contract)
    reason = await post_claim(session, batch, ref, claim, copy, matched_by=matched_by)
    if reason is not None:
        return None
    posting_id = batch.postings[0]["id"]
    await batch.flush(session)
    await store.resolve_unmatched(session, unmatched_id, posting_id, actor, now)
    return posting_id


def parked_adjustments(parked: dict[str, Any]) -> list[dict[str, str]]:
    """A parked claim's adjustments (claim and line CAS by group and reason), for the
    remittance's own view."""
    return domain.adjustments_json(domain.claim_from_json(parked))


async def list_unmatched(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    remittance_id: uuid.UUID | None,
    include_resolved: bool,
) -> tuple[list[UnmatchedOut], str | None]:
    """One page of the unmatched queue, oldest first, each with what finds its claim."""
    rows, cursor = await store.list_unmatched(
        session, page, dates, remittance_id=remittance_id, include_resolved=include_resolved
    )
    refs = await store.remittance_refs(session, (r.remittance_id for r in rows))
    items = [
        UnmatchedOut.model_validate(
            {
                **r._mapping,
                **domain.research(r.claim),
                "payer_id": refs[r.remittance_id].payer_id,
                "trace_number": refs[r.remittance_id].trace_number,
                "remittance_date": refs[r.remittance_id].paid_date,
            }
        )
        for r in rows
    ]
    return items, cursor


async def withdraw_remittance(
    session: AsyncSession, remittance_id: uuid.UUID, *, actor: str, now: datetime
) -> None:
    """Undo what a remittance posted, before its replacement posts: each of its claim
    postings that nothing reversed yet is reversed the way a payer's CLP02=22 reversal is
    (the exact opposite ledger entries, a posting that points at the original, a
    `payment.posted` with status 22), under the remittance it undoes; the ledger rows its
    PLB adjustments wrote on claims are negated; its claims still parked leave the unmatched
    queue. In the caller's transaction (see `why_not_withdrawable` first)."""
    batch = PostingBatch(now=now, contract=await contract_check(session, [], [], []))
    for original in await store.unreversed_postings(session, remittance_id):
        posting_id = uuid.uuid4()
        ref = RemittanceRef(
            remittance_id, original.payer_id, original.trace_number, original.method, original.paid_date
        )
        claim = domain.undoing(original)
        target = Target(original.claim_id, original.account_id, original.id, original.claim_type)
        entries = domain.negated(await store.posting_entries(session, original.id), posting_id)
        batch.add_entries(entries + await _retired_again(session, target, entries, posting_id))
        batch.postings.append(
            domain.posting_row(posting_id, ref, claim, target, matched_by="replacement", now=now)
        )
        batch.events.append(domain.payment_posted(posting_id, ref, claim, target, now))
    plb = await store.provider_adjustment_entries(session, remittance_id)
    batch.add_entries([replace(e, amount=-e.amount, description=f"Reversal: {e.description}") for e in plb])
    await batch.flush(session)
    await store.withdraw_parked(session, remittance_id, actor, now)


async def why_not_withdrawable(session: AsyncSession, remittance_id: uuid.UUID) -> str | None:
    """Why a remittance's postings cannot be undone for a replacement, or None. A PLB that
    opened, added to or recovered a forward balance moved money between remittances; undoing
    it is the forward balance's business, so such a remittance is not replaced here."""
    if await store.forward_balance_adjustments(session, remittance_id):
        return "its provider-level adjustments opened or recovered a forward balance (PLB FB/WO)"
    return None
