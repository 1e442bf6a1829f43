"""All SQL on the claims and claim_status_history tables.

Other sub-domains read and move claims through these functions (matching partners' answers,
duplicates on file, follow-ups), so the claim's table has one owner. Plain SQL here does not
autoflush: functions that run it after ORM changes flush those first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import String, Uuid, any_, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import defer
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.claims.claims.schemas import ClaimFilters
from services.claims.claims.tables import Claim, StatusChange
from shared.bulk import insert_many
from shared.paging import DateRange

_T = TypeVar("_T")
_CLAIM_COLUMNS = [(c.name, c.key) for c in Claim.__table__.columns]  # type: ignore[attr-defined]


async def get_claim(session: AsyncSession, claim_id: uuid.UUID, *, lock: bool = False) -> Claim | None:
    """One claim by id, locked for update when the caller is about to change it."""
    return await session.get(Claim, claim_id, with_for_update=lock)


async def history(session: AsyncSession, claim_id: uuid.UUID) -> Sequence[StatusChange]:
    """A claim's status history, oldest first."""
    stmt = select(StatusChange).where(StatusChange.claim_id == claim_id).order_by(col(StatusChange.id))
    return (await session.exec(stmt)).all()


async def add_claim(session: AsyncSession, claim: Claim, first_row: dict[str, Any]) -> None:
    """A new claim and its first history row (the claim is flushed first: the row references it)."""
    session.add(claim)
    await session.flush()
    session.add(StatusChange(**first_row))


def stage(session: AsyncSession, claim: Claim, rows: Sequence[dict[str, Any]] = ()) -> None:
    """A changed claim and its new history rows, written with the caller's transaction (the
    ORM batches the rows of many claims into one statement at flush)."""
    session.add_all([StatusChange(**row) for row in rows])
    session.add(claim)


async def insert_new(session: AsyncSession, claims: Sequence[Claim], rows: Sequence[dict[str, Any]]) -> None:
    """New claims and history rows with one multi-row INSERT per table (batch handlers), instead
    of the ORM's unit of work per object; the claims go first (history references them)."""
    await insert_many(
        session,
        Claim.__table__,  # type: ignore[attr-defined]
        [{name: getattr(claim, key) for name, key in _CLAIM_COLUMNS} for claim in claims],
    )
    await insert_many(session, StatusChange.__table__, rows)  # type: ignore[attr-defined]


def list_statement(filters: ClaimFilters, dates: DateRange, now: datetime) -> SelectOfScalar[Claim]:
    """Claims matching the list's filters at `now` (dates are dates of service, ages count from
    creation); paging is the caller's."""
    stmt = select(Claim)
    if filters.status:
        stmt = stmt.where(col(Claim.status).in_(filters.status))
    equal = [
        (Claim.payer_id, filters.payer_id),
        (Claim.patient_id, filters.patient_id),
        (Claim.encounter_id, filters.encounter_id),
    ]
    for column, value in equal:
        if value:
            stmt = stmt.where(column == value)
    if dates.date_from:
        stmt = stmt.where(col(Claim.date_of_service) >= dates.date_from)
    if dates.date_to:
        stmt = stmt.where(col(Claim.date_of_service) <= dates.date_to)
    if filters.min_age_days is not None:
        stmt = stmt.where(col(Claim.created_at) <= now - timedelta(days=filters.min_age_days))
    if filters.max_age_days is not None:
        stmt = stmt.where(col(Claim.created_at) >= now - timedelta(days=filters.max_age_days))
    return stmt


_KNOWN_ENCOUNTERS = text("SELECT encounter_id FROM claims WHERE encounter_id = ANY(CAST(:ids AS text[]))")


async def known_encounters(session: AsyncSession, encounter_ids: Sequence[str]) -> set[str]:
    """Which of these encounters already have their claim (an encounter makes one claim, once)."""
    return set((await session.execute(_KNOWN_ENCOUNTERS, {"ids": list(encounter_ids)})).scalars())


Pair = tuple[str, str]  # (patient id, payer id)

# Many (patient, payer) pairs in one statement: rows are filtered by patients and payers, and the
# caller keeps the exact pairs (a cross pair costs a row read, never a wrong answer). Duplicates,
# scrubbing's eligibility copies and the authorization copies are all read this way.
PAIRS_WHERE = "patient_id = ANY(CAST(:patients AS text[])) AND payer_id = ANY(CAST(:payers AS text[]))"


def pair_params(pairs: Sequence[Pair]) -> dict[str, list[str]]:
    """The :patients and :payers parameters of PAIRS_WHERE."""
    return {"patients": sorted({p for p, _ in pairs}), "payers": sorted({q for _, q in pairs})}


_CANDIDATES = text(
    "SELECT id, patient_id, payer_id, patient_control_number, frequency_code, status, date_of_service, "  # noqa: S608 - constant
    "data->'lines' AS lines FROM claims "
    f"WHERE {PAIRS_WHERE} "
    "AND frequency_code = '1' AND status NOT IN ('closed', 'voided', 'replaced') "
    "AND date_of_service BETWEEN :first AND :last"
).columns(lines=JSONB)


async def duplicate_candidates(
    session: AsyncSession, pairs: Sequence[Pair], first: date, last: date
) -> dict[Pair, list[Claim]]:
    """Open original claims of each (patient, payer) with a first date of service in [first,
    last], as partial Claims (the lines only in `data`), keyed by the pair."""
    wanted = set(pairs)
    found: dict[Pair, list[Claim]] = {}
    for r in await session.execute(_CANDIDATES, {**pair_params(pairs), "first": first, "last": last}):
        if (r.patient_id, r.payer_id) not in wanted:
            continue
        on_file = Claim.model_construct(
            id=r.id,
            patient_id=r.patient_id,
            payer_id=r.payer_id,
            patient_control_number=r.patient_control_number,
            frequency_code=r.frequency_code,
            status=r.status,
            date_of_service=r.date_of_service,
            data={"lines": r.lines},
        )
        found.setdefault((r.patient_id, r.payer_id), []).append(on_file)
    return found


# Each claim's chain of originals (a correction of a correction...) walked back to its first.
_FIRST_CLAIMS = text(
    "WITH RECURSIVE chain (start_id, id, original_claim_id) AS ("
    " SELECT id, id, original_claim_id FROM claims WHERE id = ANY(CAST(:ids AS uuid[]))"
    " UNION ALL SELECT chain.start_id, c.id, c.original_claim_id FROM claims c"
    " JOIN chain ON c.id = chain.original_claim_id"
    ") SELECT start_id, id FROM chain WHERE original_claim_id IS NULL"
)


async def first_claim_ids(
    session: AsyncSession, claim_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The first claim of each given claim's chain of replacements (itself when it replaces none)."""
    if not claim_ids:
        return {}
    rows = await session.execute(_FIRST_CLAIMS, {"ids": list(set(claim_ids))})
    return {r.start_id: r.id for r in rows}


async def follow_ons(session: AsyncSession, claim_id: uuid.UUID, *, lock: bool = False) -> Sequence[Claim]:
    """The replacements (7) and voids (8) made of this claim, oldest first; locked when the
    caller is about to move them."""
    stmt = (
        select(Claim)
        .where(Claim.original_claim_id == claim_id)
        .order_by(col(Claim.created_at), col(Claim.id))
        .options(defer(Claim.x12_837), defer(Claim.scrub))  # type: ignore[arg-type]
    )
    return (await session.exec(stmt.with_for_update() if lock else stmt)).all()


async def has_next_payer_claim(session: AsyncSession, claim_id: uuid.UUID) -> bool:
    """Whether a claim to the next payer was already made from this one."""
    stmt = select(Claim.id).where(Claim.primary_claim_id == claim_id)
    return (await session.exec(stmt)).first() is not None


# --- partners' answers ---------------------------------------------------------------------

Key = tuple[uuid.UUID | None, str | None]  # (our claim id if echoed, patient control number)


async def find_claims(session: AsyncSession, keys: Sequence[Key]) -> list[Claim | None]:
    """Match partners' answers, locked for update, in one statement for a whole batch: each
    (claim id, patient control number) by our claim id when echoed and ours, else by patient
    control number. The 837 text and the scrub are not loaded: answers do not need them."""
    ids, pcns = _match_keys(keys)
    if not ids and not pcns:
        return [None] * len(keys)
    found = (
        await session.exec(
            select(Claim)
            .where(
                or_(
                    col(Claim.id) == any_(bindparam("ids", ids, type_=ARRAY(Uuid()))),
                    col(Claim.patient_control_number) == any_(bindparam("pcns", pcns, type_=ARRAY(String()))),
                )
            )
            .options(defer(Claim.x12_837), defer(Claim.scrub))  # type: ignore[arg-type]
            .with_for_update()
            # Claims already in the session are read again: a set-based UPDATE earlier in
            # the transaction (accept) may have moved them since they were loaded.
            .execution_options(populate_existing=True)
        )
    ).all()
    by_id = {c.id: c for c in found}
    by_pcn = {c.patient_control_number: c for c in found}
    return [_match(by_id, by_pcn, i, p) for i, p in keys]


_MATCH = text(
    "SELECT id, patient_control_number FROM claims "
    "WHERE id = ANY(CAST(:ids AS uuid[])) OR patient_control_number = ANY(CAST(:pcns AS text[]))"
)


async def match_ids(session: AsyncSession, keys: Sequence[Key]) -> list[uuid.UUID | None]:
    """The claim id each answer is about (as find_claims matches), without loading claims."""
    if session.new or session.dirty or session.deleted:
        await session.flush()  # plain SQL below: what other handlers changed goes first
    ids, pcns = _match_keys(keys)
    rows = (await session.execute(_MATCH, {"ids": ids, "pcns": pcns})).all()
    by_id = {r.id: r.id for r in rows}
    by_pcn = {r.patient_control_number: r.id for r in rows}
    return [_match(by_id, by_pcn, i, p) for i, p in keys]


def _match_keys(keys: Sequence[Key]) -> tuple[list[uuid.UUID], list[str]]:
    """The claim ids and patient control numbers to look up for partners' answers."""
    return [i for i, _ in keys if i is not None], [p for _, p in keys if p]


def _match(
    by_id: dict[uuid.UUID, _T], by_pcn: dict[str, _T], claim_id: uuid.UUID | None, pcn: str | None
) -> _T | None:
    """An answer's claim: by our claim id when echoed and ours, else by patient control number."""
    if claim_id in by_id:
        return by_id[claim_id]
    return by_pcn.get(pcn) if pcn else None


# Acknowledged claims still `submitted` become `accepted` in one statement, each with its payer
# claim control number (found by its position in :ids); claims already answered stay as they are.
_ACCEPT = text(
    """
    UPDATE claims
       SET status = 'accepted', updated_at = :now,
           payer_claim_control_number = COALESCE(
               NULLIF((CAST(:pccns AS text[]))[array_position(CAST(:ids AS uuid[]), id)], ''),
               payer_claim_control_number)
     WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'submitted'
    RETURNING id
    """
)


async def accept(session: AsyncSession, pccns: dict[uuid.UUID, str | None], now: datetime) -> list[uuid.UUID]:
    """Move these submitted claims to accepted with their payer claim control numbers (an empty
    or missing one keeps what the claim had); returns the ids that moved."""
    params = {"ids": list(pccns), "pccns": [pccn or "" for pccn in pccns.values()], "now": now}
    return list((await session.execute(_ACCEPT, params)).scalars())


async def insert_history(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """History rows of claims already stored, in one INSERT."""
    await insert_many(session, StatusChange.__table__, rows)  # type: ignore[attr-defined]


_PATIENT_CLAIMS = text(
    "SELECT id, payer_id, status, date_of_service, data->'subscriber'->>'member_id' AS member_id "
    "FROM claims WHERE patient_id = :patient_id AND payer_id = ANY(CAST(:payers AS text[])) "
    "AND NOT status = ANY(CAST(:settled AS text[])) AND frequency_code <> '8'"
)


async def unsettled_claims(
    session: AsyncSession, patient_id: str, payer_ids: Sequence[str], settled: Sequence[str]
) -> list[Any]:
    """The patient's claims with these payers not in a `settled` status, voids left out (a
    void is not billed again): id, payer_id, status, date_of_service and the member id billed."""
    params = {"patient_id": patient_id, "payers": list(payer_ids), "settled": list(settled)}
    return list((await session.execute(_PATIENT_CLAIMS, params)).all())
