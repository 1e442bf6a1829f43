"""All of the claim copies' SQL: keeping them (once per claim id), finding the claim an
835's patient control number means, and what a corrected or voided claim retires."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, and_, exists, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.claimcopies.domain import ClaimCopy
from services.payments.claimcopies.tables import claim_copies
from services.payments.postings.domain import NO_CLAIM, OTHER_PAYER, REVERSAL
from services.payments.postings.tables import unmatched_claims
from services.payments.remittances.tables import remittances
from shared.bulk import insert_many
from shared.due import claim_due

_COPY_COLUMNS = (
    "claim_id, patient_control_number, account_id, payer_id, coverage_order, total_charge, date_of_service, "
    "claim_type, lines"
)


def _copy(row: Any) -> ClaimCopy:
    return ClaimCopy(
        row.claim_id,
        row.patient_control_number,
        row.account_id,
        row.payer_id,
        row.coverage_order,
        Decimal(row.total_charge),
        row.date_of_service,
        row.claim_type,
        row.lines or [],
    )


async def insert_copies(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Keep the copies whose claim id is new (a redelivered claim is skipped); returns those ids."""
    inserted = await insert_many(
        session, claim_copies, rows, on_conflict=["claim_id"], returning=["claim_id"]
    )
    return {r.claim_id for r in inserted}


async def lock_copies(session: AsyncSession, *, shared: bool) -> None:
    """Until the transaction ends: keeping claim copies (shared: replicas keep claims side by
    side) and an 835 claim that found no copy (exclusive, `for_835`) wait for each other.
    So a claim kept at the same moment on another replica is either seen by the 835, or sees
    the 835's parked claim (`postings.store.waiting`) and posts it; without it each read
    before the other committed and the claim stayed parked. One lock, whatever the number of
    claims (a lock per patient control number would take one lock-table slot each: an 835
    with 10,000 claims would not fit PostgreSQL's default lock table)."""
    lock = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await session.execute(text(f"SELECT {lock}(hashtext('payments-claim-copies'))"))


async def get(session: AsyncSession, claim_id: uuid.UUID) -> ClaimCopy | None:
    """The copy of one claim, or None (a claim.submitted never seen)."""
    row = (
        await session.execute(
            text(f"SELECT {_COPY_COLUMNS} FROM claim_copies WHERE claim_id = :c"),  # noqa: S608 (constant)
            {"c": claim_id},
        )
    ).first()
    return None if row is None else _copy(row)


# Per patient control number, each payer's newest claim with it (the claim_copies_pcn index).
_NEWEST_PER_PAYER = text(
    f"SELECT DISTINCT ON (patient_control_number, payer_id) {_COPY_COLUMNS}, submitted_at "  # noqa: S608
    "FROM claim_copies WHERE patient_control_number = ANY(:pcns) "
    "ORDER BY patient_control_number, payer_id, submitted_at DESC"
)


async def for_835(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ClaimCopy]:
    """Our claim for each (patient control number, payer of the 835): that payer's newest
    claim with the PCN, else the newest claim with it (which the posting then parks as sent
    to another payer). A key with no claim of that payer yet (the 835 claim is to be parked)
    waits for the claims being kept right now (`lock_copies`, held until the caller commits)
    and is looked up again."""
    keys = list(dict.fromkeys(keys))
    found = await _for_835(session, keys)
    missing = [key for key in keys if key not in found or found[key].payer_id != key[1]]
    if missing:
        await lock_copies(session, shared=False)
        found |= await _for_835(session, missing)
    return found


async def _for_835(session: AsyncSession, unique: list[tuple[str, str]]) -> dict[tuple[str, str], ClaimCopy]:
    if not unique:
        return {}
    rows = await session.execute(_NEWEST_PER_PAYER, {"pcns": list({pcn for pcn, _ in unique})})
    by_pcn: dict[str, dict[str, tuple[datetime, ClaimCopy]]] = {}
    for r in rows:
        by_pcn.setdefault(r.patient_control_number, {})[r.payer_id] = (r.submitted_at, _copy(r))
    found = {}
    for pcn, payer in unique:
        payers = by_pcn.get(pcn)
        if payers:
            found[pcn, payer] = (
                payers[payer][1] if payer in payers else max(payers.values(), key=lambda v: v[0])[1]
            )
    return found


async def payers_with_claims(session: AsyncSession, payer_ids: Sequence[str]) -> set[str]:
    """Which of these ids are payers our claims were sent to."""
    rows = await session.execute(
        text("SELECT DISTINCT payer_id FROM claim_copies WHERE payer_id = ANY(:ids)"),
        {"ids": list(payer_ids)},
    )
    return {r.payer_id for r in rows}


async def previous(session: AsyncSession, claim_id: uuid.UUID, pcn: str, before: datetime) -> Any:
    """The newest other claim with this PCN submitted up to `before` (claim_id, account_id), or None."""
    return (
        await session.execute(
            text(
                "SELECT claim_id, account_id FROM claim_copies WHERE patient_control_number = :pcn "
                "AND claim_id <> :new AND submitted_at <= :at ORDER BY submitted_at DESC LIMIT 1"
            ),
            {"pcn": pcn, "new": claim_id, "at": before},
        )
    ).first()


async def item_insurance(session: AsyncSession, item_id: uuid.UUID) -> tuple[Decimal, bool, date | None, int]:
    """A claim item's insurance balance on the ledger, whether it was retired already, its first
    service date and how many rows it has (read from `ledger_entries`, which the accounts side
    owns)."""
    row = (
        await session.execute(
            text(
                "SELECT coalesce(sum(amount) FILTER (WHERE bucket = 'insurance'), 0) AS insurance, "
                "count(*) FILTER (WHERE reason_code = 'RETIRED') AS retired, min(service_date) AS dos, "
                "count(*) AS n FROM ledger_entries WHERE item_id = :item"
            ),
            {"item": item_id},
        )
    ).one()
    return Decimal(row.insurance), bool(row.retired), row.dos, int(row.n)


async def cost_sharing_moved(
    session: AsyncSession, claim_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Decimal]:
    """Per claim, what its 835 postings moved to the patient (transfers, net of reversals):
    what the next payer's claim is billed for."""
    if not claim_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT item_id, sum(amount) AS moved FROM ledger_entries WHERE item_id = ANY(:ids) "
            "AND bucket = 'patient' AND entry_type = 'transfer' AND posting_id IS NOT NULL GROUP BY item_id"
        ),
        {"ids": list(claim_ids)},
    )
    return {r.item_id: Decimal(r.moved) for r in rows}


async def copies(session: AsyncSession, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ClaimCopy]:
    """The copies of these claims (those known)."""
    if not claim_ids:
        return {}
    rows = await session.execute(
        text(f"SELECT {_COPY_COLUMNS} FROM claim_copies WHERE claim_id = ANY(:ids)"),  # noqa: S608 (constant)
        {"ids": list(claim_ids)},
    )
    return {r.claim_id: _copy(r) for r in rows}


async def has_account(session: AsyncSession, account_id: str) -> bool:
    """Whether a claim was ever sent for this account (one way payments knows an account)."""
    found = await session.execute(
        text("SELECT 1 FROM claim_copies WHERE account_id = :a LIMIT 1"), {"a": account_id}
    )
    return found.first() is not None


async def claim_stranded(session: AsyncSession, limit: int) -> Sequence[Row[Any]]:
    """Open parked claims (not reversals) parked for want of a claim of their remittance's
    payer that has one now: a match the on-arrival path missed (a race before `lock_copies`,
    or a crash). Row-locked with SKIP LOCKED (`shared.due.claim_due`), so replicas sweeping at
    once take different rows and a claim arriving now waits for the sweep or is skipped by it.
    Reads `unmatched_claims` and `remittances`, which the posting and remittances own: id,
    patient control number and the remittance's payer."""
    u, r, c = unmatched_claims.c, remittances.c, claim_copies.c
    payer = select(r.payer_id).where(r.id == u.remittance_id).correlate(unmatched_claims).scalar_subquery()
    has_claim = exists().where(c.patient_control_number == u.patient_control_number, c.payer_id == payer)
    due = and_(
        u.resolved_at.is_(None), u.status_code != REVERSAL, u.reason.in_([NO_CLAIM, OTHER_PAYER]), has_claim
    )
    return await claim_due(
        session,
        unmatched_claims,
        due=due,
        order_by=[u.created_at, u.id],
        limit=limit,
        returning=[u.id, u.patient_control_number, payer.label("payer_id")],
    )
