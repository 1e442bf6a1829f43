"""Remittances: posting a transaction set the intake decided to post, what a remittance
did, and the payers with the identifiers their 835s carry.

Every 835 comes in through the intake (`services.payments.intake`), which keeps the file,
reads each set and decides whether it is new, a duplicate, a conflict or waits for its
payer; what it decides to post comes here, a whole poll with one statement per table: the
remittance rows, the claims posted or parked (`postings`), then the provider-level
adjustments (`provider_adjustments`, after the claims: PLB03-2 may name one). So for every
remittance `posted + unmatched = BPR amount` holds by construction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.claimcopies import store as claimcopies
from services.payments.duplicates import store as duplicates
from services.payments.postings import store as postings_store
from services.payments.postings.usecases import Arrived, parked_adjustments, post_remittances
from services.payments.provider_adjustments import usecases as provider_adjustments
from services.payments.remittances import store
from services.payments.remittances.domain import Remittance835
from services.payments.remittances.schemas import ClaimLine, RemittanceSummary, Totals, Warning835
from shared.events import Event
from shared.paging import DateRange, PageQuery

ZERO = Decimal("0.00")


@dataclass
class NewRemittance:
    """A transaction set to post as a remittance: what it says, where it was received, and
    whether it is the first of its trace number or one staff chose to add or replace with.
    `event`: the event it came in; what its posting causes carries that event's
    correlation id and trace."""

    id: uuid.UUID
    payer_id: str
    remittance: Remittance835
    digest: str
    received_set_id: uuid.UUID
    now: datetime
    source: str
    actor: str
    event: Event | None = None
    kind: str = "original"  # original | additional | replacement
    replaces: uuid.UUID | None = None


async def resolve_payer(session: AsyncSession, remittance: Remittance835) -> str | None:
    """Our payer id for the 835's payer, trying its identifiers in the order the file gives
    them (N1*PR N104, REF*2U, then TRN03, which several payers may share): a registered
    identifier, or a payer id our claims were sent to."""
    ids = remittance.payer_identifiers
    if not ids:
        return None
    found = await _resolve(session, ids)
    if found is None:  # it will wait for its payer: not while one is being registered
        await store.lock_payers(session, shared=True)
        found = await _resolve(session, ids)
    return found


async def _resolve(session: AsyncSession, ids: Sequence[str]) -> str | None:
    rows = await store.payers_by_identifier(session, ids)
    with_claims = await claimcopies.payers_with_claims(session, ids)
    for identifier in ids:
        for row in rows:
            if identifier == row.payer_id or identifier in row.identifiers:
                return row.payer_id
        if identifier in with_claims:
            return identifier
    return None


async def post_new(session: AsyncSession, items: Sequence[NewRemittance]) -> None:
    """Post these sets in the caller's transaction, in order, each as if alone, with one
    statement per table for all of them."""
    if not items:
        return
    await store.insert_remittances(session, [_remittance_row(i) for i in items])
    arrived = [Arrived(i.id, i.payer_id, i.remittance, i.now, i.event) for i in items]
    await post_remittances(session, arrived)
    await provider_adjustments.record(session, arrived)  # after the claims: PLB03-2 may name one


async def of_traces(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> Sequence[Any]:
    """Every remittance already posted under these (payer, trace number) pairs, oldest first."""
    return await store.of_traces(session, keys)


async def replacement_of(session: AsyncSession, remittance_id: uuid.UUID) -> uuid.UUID | None:
    """The remittance that replaced this one, if any."""
    row = await store.remittance(session, remittance_id)
    return row.replaced_by if row is not None else None


async def record_digest(session: AsyncSession, remittance_id: uuid.UUID, digest: str) -> None:
    """The set digest of a remittance posted before digests were kept, once computed."""
    await store.set_digest(session, remittance_id, digest)


def _remittance_row(i: NewRemittance) -> dict[str, Any]:
    r = i.remittance
    return {
        "id": i.id,
        "payer_id": i.payer_id,
        "trace_number": r.trace_number,
        "trace_originator": r.trace_originator,
        "control_number": r.control_number,
        "handling_code": r.handling_code,
        "method": r.method,
        "amount": r.amount,
        "credit_debit": r.credit_debit,
        "paid_date": r.paid_date,
        "production_date": r.production_date,
        "claims_paid": r.claims_paid,
        "provider_adjustments": r.provider_adjustment_total,
        "warnings": [{"field": w.pointer, "message": w.message} for w in r.warnings],
        "source": i.source,
        "received_by": i.actor,
        "received_at": i.now,
        "set_sha256": i.digest,
        "received_set_id": i.received_set_id,
        "kind": i.kind,
        "replaces": i.replaces,
    }


async def summary(
    session: AsyncSession, remittance_id: uuid.UUID, *, duplicate: bool = False
) -> RemittanceSummary | None:
    """What a remittance did: deposit, claims matched and parked, and the totals that tie;
    None when there is no such remittance."""
    r = await store.remittance(session, remittance_id)
    if r is None:
        return None
    postings = await postings_store.postings_of(session, remittance_id)
    matched = [
        _line(p, claim_id=p.claim_id, account_id=p.account_id, posting_id=p.id, **_posted_detail(p))
        for p in postings
    ]
    # What a replacement reversed is listed (status 22) but was not this remittance's posting.
    own = sum((p.paid for p in postings if p.matched_by != "replacement"), ZERO)
    unmatched = [
        _line(u, unmatched_id=u.id, reason=u.reason, adjustments=parked_adjustments(u.claim))
        for u in await postings_store.parked_of(session, remittance_id)
    ]
    plb = await provider_adjustments.of_remittance(session, remittance_id)
    plb_total = Decimal(r.provider_adjustments)
    parked = (await duplicates.money_of(session, [remittance_id])).get(remittance_id)
    return RemittanceSummary(
        id=r.id,
        payer_id=r.payer_id,
        payer_name=r.payer_name,
        trace_number=r.trace_number,
        method=r.method,
        amount=r.amount,
        credit_debit=r.credit_debit,
        paid_date=r.paid_date,
        received_at=r.received_at,
        source=r.source,
        duplicate=duplicate,
        kind=r.kind,
        replaces=r.replaces,
        replaced_by=r.replaced_by,
        matched=matched,
        unmatched=unmatched,
        totals=Totals(
            deposit=Decimal(r.amount) if r.credit_debit == "C" else -Decimal(r.amount),
            claims_paid=Decimal(r.claims_paid),
            provider_adjustments=plb_total,
            posted=own - plb_total,
            unmatched=sum((u.paid for u in unmatched), ZERO),
            possible_duplicates=Decimal(parked.open) if parked else ZERO,
            payer_credit=Decimal(parked.payer_credit) if parked else ZERO,
            no_money=Decimal(parked.no_money) if parked else ZERO,
            withdrawn=await postings_store.withdrawn_total(session, remittance_id) if r.replaced_by else ZERO,
        ),
        provider_level_adjustments=plb,
        warnings=[Warning835(**w) for w in r.warnings],
    )


def _line(row: Any, **more: Any) -> ClaimLine:
    """A posted or parked claim as the summary shows it."""
    return ClaimLine(
        patient_control_number=row.patient_control_number,
        payer_claim_control_number=row.payer_claim_control_number,
        status_code=row.status_code,
        charge=row.charge,
        paid=row.paid,
        patient_responsibility=row.patient_responsibility,
        **more,
    )


def _posted_detail(p: Any) -> dict[str, Any]:
    """A posted claim's adjustments, claim type, institutional fields (CLP08-12, MIA, MOA) and lines."""
    return {
        "adjustments": p.adjustments,
        "claim_type": p.claim_type,
        "facility_type_code": p.facility_type_code,
        "frequency_code": p.frequency_code,
        "drg_code": p.drg_code,
        "drg_weight": p.drg_weight,
        "inpatient": p.inpatient,
        "outpatient": p.outpatient,
        "lines": p.lines or [],
    }


async def raw_file(session: AsyncSession, remittance_id: uuid.UUID) -> str | None:
    """The 835 exactly as received, or None."""
    return await store.raw_file(session, remittance_id)


async def register_payer(session: AsyncSession, payer_id: str, name: str, identifiers: list[str]) -> None:
    """Add or replace a payer and the identifiers its 835s carry, in the caller's transaction
    (the intake then posts the sets that waited for it)."""
    await store.lock_payers(session, shared=False)  # sets parking for want of a payer commit first
    await store.put_payer(session, payer_id, name, identifiers)


async def list_remittances(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    payer_id: str | None,
    trace_number: str | None,
) -> tuple[Sequence[Any], str | None]:
    """One page of remittances, newest received first."""
    return await store.list_remittances(session, page, dates, payer_id=payer_id, trace_number=trace_number)
