"""All of the posting's SQL: claim postings and parked claims in (one statement per table
for a whole poll), the posting a reversal undoes, and the unmatched queue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts.domain import Entry
from services.payments.postings.tables import claim_postings, unmatched_claims
from shared.bulk import insert_many
from shared.paging import DateRange, PageQuery, paginate
from shared.stuckwork import count_and_oldest


async def insert_postings(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """A poll's claim postings, with one INSERT (the table is append-only)."""
    await insert_many(session, claim_postings, rows)


async def insert_unmatched(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """A poll's parked claims, with one INSERT."""
    await insert_many(session, unmatched_claims, rows)


async def original_posting(
    session: AsyncSession, *, pcn: str, payer_ccn: str, claim_id: uuid.UUID | None, payer_id: str
) -> Any:
    """The newest not yet reversed posting of this payer for this PCN (or for the claim
    chosen by hand), preferring the one with the same payer claim control number:
    (id, claim_id, account_id, claim_type) or None."""
    return (
        await session.execute(
            text(
                "SELECT p.id, p.claim_id, p.account_id, p.claim_type FROM claim_postings p "
                "WHERE (CASE WHEN CAST(:c AS uuid) IS NULL THEN p.patient_control_number = :pcn "
                "ELSE p.claim_id = :c END) AND p.payer_id = :payer AND p.status_code <> '22' "
                "AND NOT EXISTS (SELECT 1 FROM claim_postings r WHERE r.reverses_posting_id = p.id) "
                "ORDER BY (p.payer_claim_control_number = :pccn) DESC NULLS LAST, p.posted_at DESC LIMIT 1"
            ),
            {"c": claim_id, "pcn": pcn, "pccn": payer_ccn or None, "payer": payer_id},
        )
    ).first()


async def lock_adjudications(session: AsyncSession, keys: Iterable[tuple[str, str, str]]) -> None:
    """Serialise posting on these adjudications (payer, CLP01, CLP07) until the transaction
    ends: two files re-paying one claim, posted at once by two instances, take turns, and the
    second sees the first's posting. Taken in one order (one statement), so two batches never
    wait on each other."""
    unique = sorted({"\x1f".join(k) for k in keys})
    if unique:
        await session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 8352)) FROM (SELECT k FROM "
                "jsonb_array_elements_text(CAST(:keys AS jsonb)) AS k ORDER BY k) AS sorted"
            ),
            {"keys": json.dumps(unique)},
        )


async def live_postings(session: AsyncSession, keys: Iterable[tuple[str, str, str]]) -> list[Any]:
    """The postings of these adjudications (payer, CLP01, CLP07; '' for none) that are not
    reversals and that nothing reversed, oldest first: id, claim_id, account_id, payer_id,
    patient_control_number, payer_claim_control_number."""
    wanted = set(keys)
    if not wanted:
        return []
    rows = await session.execute(
        text(
            "SELECT p.id, p.claim_id, p.account_id, p.payer_id, p.patient_control_number, "
            "p.payer_claim_control_number FROM claim_postings p WHERE p.patient_control_number = ANY(:pcns) "
            "AND p.payer_id = ANY(:payers) AND p.status_code <> '22' "
            "AND NOT EXISTS (SELECT 1 FROM claim_postings r WHERE r.reverses_posting_id = p.id) "
            "ORDER BY p.posted_at, p.id"
        ),
        {"pcns": list({k[1] for k in wanted}), "payers": list({k[0] for k in wanted})},
    )
    return [
        r
        for r in rows
        if (r.payer_id, r.patient_control_number, r.payer_claim_control_number or "") in wanted
    ]


async def posting_entries(session: AsyncSession, posting_id: uuid.UUID) -> list[Entry]:
    """The ledger entries a posting wrote, in order (from `ledger_entries`, which the
    accounts side owns), for the posting that reverses it."""
    rows = await session.execute(
        text(
            "SELECT account_id, entry_type, amount, bucket, description, item_id, claim_id, group_code, "
            "reason_code, service_date FROM ledger_entries WHERE posting_id = :p ORDER BY id"
        ),
        {"p": posting_id},
    )
    return [_entry(r) for r in rows]


async def latest_by_payer_ccn(session: AsyncSession, payer_ccn: str) -> Any:
    """The newest posting with this payer claim control number: (claim_id, account_id) or None."""
    return (
        await session.execute(
            text(
                "SELECT claim_id, account_id FROM claim_postings WHERE payer_claim_control_number = :x "
                "ORDER BY posted_at DESC LIMIT 1"
            ),
            {"x": payer_ccn},
        )
    ).first()


async def postings_of(session: AsyncSession, remittance_id: uuid.UUID) -> Sequence[Any]:
    """A remittance's claim postings in file order."""
    rows = await session.execute(
        text("SELECT * FROM claim_postings WHERE remittance_id = :id ORDER BY clp_position, posted_at"),
        {"id": remittance_id},
    )
    return rows.all()


async def parked_of(session: AsyncSession, remittance_id: uuid.UUID) -> Sequence[Any]:
    """A remittance's claims still waiting in the unmatched queue, in file order."""
    rows = await session.execute(
        text(
            "SELECT * FROM unmatched_claims WHERE remittance_id = :id AND "
            "resolved_at IS NULL ORDER BY (claim->>'position')::int"
        ),
        {"id": remittance_id},
    )
    return rows.all()


async def lock_unmatched(session: AsyncSession, unmatched_id: uuid.UUID) -> Any:
    """A parked claim with its remittance's trace number, method, payer and payment date,
    locked for posting; None when there is no such item."""
    return (
        await session.execute(
            text(
                "SELECT u.*, r.trace_number, r.method, r.payer_id, r.paid_date FROM unmatched_claims u "
                "JOIN remittances r ON r.id = u.remittance_id WHERE u.id = :id FOR UPDATE OF u"
            ),
            {"id": unmatched_id},
        )
    ).first()


async def resolve_unmatched(
    session: AsyncSession, unmatched_id: uuid.UUID, posting_id: uuid.UUID | None, actor: str, now: datetime
) -> None:
    """Mark a parked claim posted (by whom, when, which posting), or (no posting) moved to the
    possible-duplicate queue; it leaves the open queue."""
    await session.execute(
        text(
            "UPDATE unmatched_claims SET resolved_posting_id = :p, resolved_by = :actor, resolved_at = :now "
            "WHERE id = :id"
        ),
        {"p": posting_id, "actor": actor, "now": now, "id": unmatched_id},
    )


async def waiting(
    session: AsyncSession, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[uuid.UUID]]:
    """The open parked claims (not reversals) that wait for a claim with each (patient
    control number, payer), oldest first; keys with none are absent."""
    unique = set(keys)
    if not unique:
        return {}
    rows = await session.execute(
        text(
            "SELECT u.id, u.patient_control_number, r.payer_id FROM unmatched_claims u "
            "JOIN remittances r ON r.id = u.remittance_id WHERE u.patient_control_number = ANY(:pcns) "
            "AND u.resolved_at IS NULL AND u.status_code <> '22' ORDER BY u.created_at"
        ),
        {"pcns": list({pcn for pcn, _ in unique})},
    )
    found: dict[tuple[str, str], list[uuid.UUID]] = {}
    for r in rows:
        if (r.patient_control_number, r.payer_id) in unique:
            found.setdefault((r.patient_control_number, r.payer_id), []).append(r.id)
    return found


async def list_unmatched(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    remittance_id: uuid.UUID | None,
    include_resolved: bool,
) -> tuple[Sequence[Any], str | None]:
    """One page of the unmatched queue, oldest first (the order it is worked in), filtered."""
    t = unmatched_claims.c
    stmt = select(unmatched_claims)
    if remittance_id is not None:
        stmt = stmt.where(t.remittance_id == remittance_id)
    if not include_resolved:
        stmt = stmt.where(t.resolved_at.is_(None))
    if dates.date_from:
        stmt = stmt.where(t.created_at >= datetime.combine(dates.date_from, time.min, UTC))
    if dates.date_to:
        stmt = stmt.where(t.created_at < datetime.combine(dates.date_to + timedelta(days=1), time.min, UTC))
    return await paginate(session, stmt, page, t.created_at, t.id, oldest_first=True)


async def remittance_refs(session: AsyncSession, remittance_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """(payer_id, trace_number, paid_date) of each of these remittances (the unmatched queue
    shows them beside each parked claim)."""
    ids = list(set(remittance_ids))
    if not ids:
        return {}
    rows = await session.execute(
        text("SELECT id, payer_id, trace_number, paid_date FROM remittances WHERE id = ANY(:ids)"),
        {"ids": ids},
    )
    return {r.id: r for r in rows}


async def unreversed_postings(session: AsyncSession, remittance_id: uuid.UUID) -> Sequence[Any]:
    """A remittance's claim postings that nothing has reversed yet, in file order, with the
    remittance's trace number, method and payment date, and, for a posting that is itself a
    reversal, the status code of the posting it reversed (`reversed_status`)."""
    rows = await session.execute(
        text(
            "SELECT p.*, r.trace_number, r.method, r.paid_date, o.status_code AS reversed_status "
            "FROM claim_postings p JOIN remittances r ON r.id = p.remittance_id "
            "LEFT JOIN claim_postings o ON o.id = p.reverses_posting_id WHERE p.remittance_id = :id "
            "AND NOT EXISTS (SELECT 1 FROM claim_postings x WHERE x.reverses_posting_id = p.id) "
            "ORDER BY p.clp_position, p.posted_at"
        ),
        {"id": remittance_id},
    )
    return rows.all()


async def withdraw_parked(session: AsyncSession, remittance_id: uuid.UUID, actor: str, now: datetime) -> None:
    """Take a remittance's still-parked claims out of the unmatched queue without posting
    them (resolved, with no posting): its replacement carries their money now."""
    await session.execute(
        text(
            "UPDATE unmatched_claims SET resolved_by = :actor, resolved_at = :now "
            "WHERE remittance_id = :id AND resolved_at IS NULL"
        ),
        {"id": remittance_id, "actor": actor, "now": now},
    )


async def withdrawn_total(session: AsyncSession, remittance_id: uuid.UUID) -> Decimal:
    """What of a remittance's parked claims left the queue without a posting (withdrawn)."""
    value = await session.scalar(
        text(
            "SELECT coalesce(sum(u.paid), 0) FROM unmatched_claims u WHERE u.remittance_id = :id "
            "AND u.resolved_at IS NOT NULL AND u.resolved_posting_id IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM possible_duplicates d WHERE d.unmatched_id = u.id)"
        ),
        {"id": remittance_id},
    )
    return Decimal(value)


async def provider_adjustment_entries(session: AsyncSession, remittance_id: uuid.UUID) -> list[Entry]:
    """The ledger rows a remittance's PLB adjustments wrote on claims, in order (to undo them
    when the remittance is replaced)."""
    rows = await session.execute(
        text(
            "SELECT e.account_id, e.entry_type, e.amount, e.bucket, e.description, e.item_id, e.claim_id, "
            "e.group_code, e.reason_code, e.service_date, e.provider_adjustment_id FROM ledger_entries e "
            "JOIN provider_adjustments p ON p.id = e.provider_adjustment_id WHERE p.remittance_id = :id "
            "ORDER BY e.id"
        ),
        {"id": remittance_id},
    )
    return [_entry(r) for r in rows]


async def forward_balance_adjustments(session: AsyncSession, remittance_id: uuid.UUID) -> int:
    """How many of a remittance's PLB adjustments opened or recovered a forward balance."""
    count = await session.scalar(
        text(
            "SELECT count(*) FROM provider_adjustments "
            "WHERE remittance_id = :id AND forward_balance_id IS NOT NULL"
        ),
        {"id": remittance_id},
    )
    return int(count or 0)


def _entry(r: Any) -> Entry:
    """A stored ledger row as an Entry to negate (its PLB tie kept when the query read it)."""
    return Entry(
        account_id=r.account_id,
        entry_type=r.entry_type,
        amount=Decimal(r.amount),
        bucket=r.bucket,
        description=r.description,
        item_id=r.item_id,
        claim_id=r.claim_id,
        group_code=r.group_code,
        reason_code=r.reason_code,
        service_date=r.service_date,
        provider_adjustment_id=r._mapping.get("provider_adjustment_id"),
    )


async def open_unmatched(session: AsyncSession) -> tuple[int, float | None]:
    """The unmatched queue's size: claims of posted 835s nobody matched yet, and seconds since
    the oldest was parked (the partial index `unmatched_open` answers it)."""
    c = unmatched_claims.c
    return await count_and_oldest(session, unmatched_claims, c.created_at, c.resolved_at.is_(None))
