"""The one way an 835 comes in, for an upload and for `remittance.received` alike.

One remittance is one transaction: the remittance row (unique per payer and trace number,
which is what makes a second delivery a no-op), the raw file, its claims posted or parked
(`postings`), then its provider-level adjustments (`provider_adjustments`). A refused file leaves nothing
behind. The consumer posts a whole poll of 835s in its one transaction (`receive_many`),
each exactly as if alone, with one statement per table."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.claimcopies import store as claimcopies
from services.payments.postings import store as postings_store
from services.payments.postings.usecases import Arrived, parked_adjustments, post_remittances
from services.payments.provider_adjustments import usecases as provider_adjustments
from services.payments.remittances import store
from services.payments.remittances.domain import Remittance835
from services.payments.remittances.schemas import ClaimLine, RemittanceSummary, Totals, Warning835
from services.payments.remittances.x12 import parse_835
from shared.events import Event
from shared.paging import DateRange, PageQuery
from shared.x12 import X12Error

ZERO = Decimal("0.00")


@dataclass
class Outcome:
    """The result of receiving one transaction set."""

    remittance_id: uuid.UUID
    duplicate: bool


@dataclass
class Incoming:
    """One 835 file to post, and what its remittances record about where it came from.
    `event`: the event it arrived in; what its posting causes carries that event's
    correlation id and trace."""

    x12_text: str
    source: str
    actor: str
    payer_id: str | None = None
    now: datetime | None = None
    event: Event | None = None


@dataclass
class _Set:
    """One transaction set of an incoming file, on its way to the database."""

    file: int
    remittance: Remittance835
    payer_id: str
    digest: str
    now: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def key(self) -> tuple[str, str]:
        return (self.payer_id, self.remittance.trace_number)


async def resolve_payer(session: AsyncSession, remittance: Remittance835) -> str | None:
    """Our payer id for the 835's payer, trying its identifiers in the order the file gives
    them (N1*PR N104, REF*2U, then TRN03, which several payers may share): a registered
    identifier, or a payer id our claims were sent to."""
    ids = remittance.payer_identifiers
    if not ids:
        return None
    rows = await store.payers_by_identifier(session, ids)
    with_claims = await claimcopies.payers_with_claims(session, ids)
    for identifier in ids:
        for row in rows:
            if identifier == row.payer_id or identifier in row.identifiers:
                return row.payer_id
        if identifier in with_claims:
            return identifier
    return None


async def _prepare(session: AsyncSession, files: Sequence[Incoming]) -> list[_Set]:
    """Parse and check every file before any write; raises the first located X12Error
    (an unknown payer included). Each file is posted after the one before (`now`)."""
    sets: list[_Set] = []
    last: datetime | None = None
    for index, incoming in enumerate(files):
        parsed = parse_835(incoming.x12_text)
        digest = hashlib.sha256(incoming.x12_text.encode()).hexdigest()
        now = incoming.now or datetime.now(UTC)
        if incoming.now is None and last is not None and now <= last:
            now = last + timedelta(microseconds=1)
        last = now
        for remittance in parsed:
            payer_id = incoming.payer_id or await resolve_payer(session, remittance)
            if payer_id is None:
                raise X12Error(
                    "unknown payer: no registered payer has the identifiers in N1*PR/REF*2U or TRN03",
                    position=remittance.payer_position,
                    segment="N1",
                    element=4,
                )
            sets.append(_Set(index, remittance, payer_id, digest, now))
    return sets


async def receive(
    session: AsyncSession,
    x12_text: str,
    *,
    source: str,
    actor: str,
    payer_id: str | None = None,
    now: datetime | None = None,
) -> list[Outcome]:
    """Post every transaction set of an 835 in the caller's transaction."""
    (outcomes,) = await receive_many(
        session, [Incoming(x12_text, source=source, actor=actor, payer_id=payer_id, now=now)]
    )
    return outcomes


async def receive_many(session: AsyncSession, files: Sequence[Incoming]) -> list[list[Outcome]]:
    """Post every transaction set of many 835s in the caller's transaction, with one
    statement per table for all of them (a consumer's poll), in file order: each file gets
    exactly what posting it alone would give, its own `now` included. Every file is parsed
    and checked before anything is written, so one bad file raises its located X12Error and
    writes nothing; a trace number seen before, in the database or earlier in `files`, is a
    duplicate and posts nothing."""
    sets = await _prepare(session, files)
    outcomes: list[list[Outcome]] = [[] for _ in files]
    if not sets:
        return outcomes
    inserted = await store.insert_remittances(session, [_remittance_row(s, files[s.file]) for s in sets])
    new = [s for s in sets if s.id in inserted]
    old = [s for s in sets if s.id not in inserted]
    existing = await store.remittance_ids(session, [s.key for s in old]) if old else {}
    for s in sets:
        duplicate = s.id not in inserted
        outcomes[s.file].append(Outcome(existing[s.key] if duplicate else s.id, duplicate=duplicate))
    if not new:
        return outcomes
    await store.insert_files(
        session,
        [{"remittance_id": s.id, "sha256": s.digest, "x12": files[s.file].x12_text} for s in new],
    )
    arrived = [Arrived(s.id, s.payer_id, s.remittance, s.now, files[s.file].event) for s in new]
    await post_remittances(session, arrived)
    await provider_adjustments.record(session, arrived)  # after the claims: PLB03-2 may name one
    return outcomes


def _remittance_row(s: _Set, incoming: Incoming) -> dict[str, Any]:
    r = s.remittance
    return {
        "id": s.id,
        "payer_id": s.payer_id,
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
        "source": incoming.source,
        "received_by": incoming.actor,
        "received_at": s.now,
    }


async def summary(
    session: AsyncSession, remittance_id: uuid.UUID, *, duplicate: bool = False
) -> RemittanceSummary | None:
    """What a remittance did: deposit, claims matched and parked, and the totals that tie;
    None when there is no such remittance."""
    r = await store.remittance(session, remittance_id)
    if r is None:
        return None
    matched = [
        _line(p, claim_id=p.claim_id, posting_id=p.id, adjustments=p.adjustments)
        for p in await postings_store.postings_of(session, remittance_id)
    ]
    unmatched = [
        _line(u, unmatched_id=u.id, reason=u.reason, adjustments=parked_adjustments(u.claim))
        for u in await postings_store.parked_of(session, remittance_id)
    ]
    plb = await provider_adjustments.of_remittance(session, remittance_id)
    plb_total = Decimal(r.provider_adjustments)
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
        matched=matched,
        unmatched=unmatched,
        totals=Totals(
            deposit=Decimal(r.amount) if r.credit_debit == "C" else -Decimal(r.amount),
            claims_paid=Decimal(r.claims_paid),
            provider_adjustments=plb_total,
            posted=sum((m.paid for m in matched), ZERO) - plb_total,
            unmatched=sum((u.paid for u in unmatched), ZERO),
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


async def raw_file(session: AsyncSession, remittance_id: uuid.UUID) -> str | None:
    """The 835 exactly as received, or None."""
    return await store.raw_file(session, remittance_id)


async def register_payer(session: AsyncSession, payer_id: str, name: str, identifiers: list[str]) -> None:
    """Add or replace a payer and the identifiers its 835s carry."""
    async with session.begin():
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
