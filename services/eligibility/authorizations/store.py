"""All SQL of authorizations and their expiring alerts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, RowMapping, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.authorizations.tables import authorizations
from shared.paging import DateRange, PageQuery, paginate

COLUMNS = (
    "id, patient_id, payer_id, number, kind, service_codes, service_type_codes, start_date, end_date, "
    "visits_allowed, visits_used, created_at"
)
_INSERT = text(
    "INSERT INTO authorizations (id, patient_id, payer_id, number, kind, service_codes, "  # noqa: S608
    "service_type_codes, start_date, end_date, visits_allowed, visits_used, recorded_by) VALUES (:id, "
    ":p, :payer, :n, :k, CAST(:codes AS jsonb), CAST(:types AS jsonb), :s, :e, :va, :vu, :by) "
    f"ON CONFLICT (payer_id, number) DO NOTHING RETURNING {COLUMNS}"
)
_BY_ID = text(f"SELECT {COLUMNS} FROM authorizations WHERE id = :id")  # noqa: S608 - constant
_USE_VISITS = text(
    "UPDATE authorizations SET visits_used = visits_used + :n WHERE id = :id "  # noqa: S608
    "AND (visits_allowed IS NULL OR visits_used + :n <= visits_allowed) "
    f"RETURNING {COLUMNS}"
)
_DUE = text(
    "SELECT id, patient_id, payer_id, end_date, visits_allowed, visits_used, "
    "(end_date - CAST(:today AS date)) AS days_left FROM authorizations a WHERE end_date >= :today AND ("
    " (end_date - CAST(:today AS date) <= :days AND NOT EXISTS (SELECT 1 FROM authorization_alerts x "
    "   WHERE x.authorization_id = a.id AND x.threshold = 'days'))"
    " OR (visits_allowed IS NOT NULL AND visits_allowed - visits_used <= :visits AND NOT EXISTS ("
    "   SELECT 1 FROM authorization_alerts x WHERE x.authorization_id = a.id AND x.threshold = 'visits'))"
    ") ORDER BY end_date LIMIT 500"
)
# The visits claims billed (authorization_visits), read and changed for many claims at once.
_BY_NUMBERS = text(
    "SELECT id, payer_id, patient_id, number FROM authorizations "
    "WHERE number = ANY(CAST(:numbers AS text[])) AND payer_id = ANY(CAST(:payers AS text[]))"
)
_CHAIN_VISITS = text(
    "SELECT claim_id, authorization_id, date_of_service FROM authorization_visits "
    "WHERE claim_id = ANY(CAST(:chains AS uuid[]))"
)
_VISITS = (
    "jsonb_to_recordset(CAST(:rows AS jsonb)) "
    "AS r (claim_id uuid, authorization_id uuid, date_of_service date)"
)
_ADD_VISITS = text(
    "INSERT INTO authorization_visits (claim_id, authorization_id, date_of_service) "  # noqa: S608 - constant
    f"SELECT claim_id, authorization_id, date_of_service FROM {_VISITS} "
    "ON CONFLICT DO NOTHING RETURNING authorization_id"
)
_REMOVE_VISITS = text(
    f"DELETE FROM authorization_visits v USING {_VISITS} WHERE v.claim_id = r.claim_id "  # noqa: S608 - constant
    "AND v.authorization_id = r.authorization_id AND v.date_of_service = r.date_of_service "
    "RETURNING v.authorization_id"
)
_COUNT_VISITS = text(
    "UPDATE authorizations a SET visits_used = GREATEST(a.visits_used + d.delta, 0) "  # noqa: S608 - constant
    "FROM jsonb_to_recordset(CAST(:deltas AS jsonb)) AS d (id uuid, delta integer) WHERE a.id = d.id "
    f"RETURNING {', '.join('a.' + c for c in COLUMNS.split(', '))}"
)
_CLAIM_ALERT = text(
    "INSERT INTO authorization_alerts (authorization_id, threshold) VALUES (:id, :t) "
    "ON CONFLICT DO NOTHING RETURNING authorization_id"
)


async def insert(session: AsyncSession, values: dict[str, Any]) -> RowMapping | None:
    """The new authorization, or None when the payer's number is already on file."""
    params = {
        "id": values["id"],
        "p": values["patient_id"],
        "payer": values["payer_id"],
        "n": values["number"],
        "k": values["kind"],
        "codes": json.dumps(values["service_codes"]),
        "types": json.dumps(values["service_type_codes"]),
        "s": values["start_date"],
        "e": values["end_date"],
        "va": values["visits_allowed"],
        "vu": values["visits_used"],
        "by": values["recorded_by"],
    }
    return (await session.execute(_INSERT, params)).mappings().one_or_none()


async def page_for_patient(
    session: AsyncSession, patient_id: str, active_on: date | None, dates: DateRange, page: PageQuery
) -> tuple[Sequence[Row[Any]], str | None]:
    """One page of the patient's authorizations, newest first: those valid on `active_on`, and
    valid at some time between `dates` (either end open), when given."""
    a = authorizations.c
    stmt = select(*[a[name] for name in COLUMNS.split(", ")]).where(a.patient_id == patient_id)
    if active_on is not None:
        stmt = stmt.where(a.start_date <= active_on, a.end_date >= active_on)
    if dates.date_from is not None:
        stmt = stmt.where(a.end_date >= dates.date_from)
    if dates.date_to is not None:
        stmt = stmt.where(a.start_date <= dates.date_to)
    return await paginate(session, stmt, page, a.created_at, a.id)


async def load(session: AsyncSession, authorization_id: uuid.UUID) -> RowMapping | None:
    return (await session.execute(_BY_ID, {"id": authorization_id})).mappings().one_or_none()


async def use_visits(session: AsyncSession, authorization_id: uuid.UUID, visits: int) -> RowMapping | None:
    """Count visits as used; None when there is no such authorization or not that many left."""
    params = {"id": authorization_id, "n": visits}
    return (await session.execute(_USE_VISITS, params)).mappings().one_or_none()


async def due_alerts(session: AsyncSession, today: date, *, days: int, visits: int) -> list[RowMapping]:
    """Authorizations past a threshold whose alert for it has not gone out yet."""
    params = {"today": today, "days": days, "visits": visits}
    return list((await session.execute(_DUE, params)).mappings())


async def claim_alert(session: AsyncSession, authorization_id: uuid.UUID, threshold: str) -> bool:
    """Take the one alert of this authorization and threshold; False if it went out already."""
    claimed = await session.execute(_CLAIM_ALERT, {"id": authorization_id, "t": threshold})
    return claimed.first() is not None


async def ids_by_number(
    session: AsyncSession, keys: set[tuple[str, str, str]]
) -> dict[tuple[str, str, str], uuid.UUID]:
    """The authorizations on file for these (payer, patient, number) keys."""
    if not keys:
        return {}
    params = {"numbers": sorted({k[2] for k in keys}), "payers": sorted({k[0] for k in keys})}
    found = {}
    for r in await session.execute(_BY_NUMBERS, params):
        if (key := (r.payer_id, r.patient_id, r.number)) in keys:
            found[key] = r.id
    return found


async def lock_chains(session: AsyncSession, *, shared: bool) -> None:
    """Until the transaction ends: counting the visits of claims that start a chain (shared)
    and of corrections and voids, which join another claim's chain (exclusive), wait for each
    other. A claim and its correction have different ids (so Kafka keys, so partitions) and
    may be handled on two replicas at once; each read the chain's visits before the other
    committed and both kept theirs (a visit counted twice). One lock for a poll of any size
    (a lock per chain would take a lock-table slot per claim); corrections are rare."""
    lock = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await session.execute(text(f"SELECT {lock}(hashtext('eligibility-claim-chains'))"))


async def chain_visits(
    session: AsyncSession, chains: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[tuple[uuid.UUID, date]]]:
    """The visits on file for each chain (first claim id): (authorization id, date of service)."""
    found: dict[uuid.UUID, set[tuple[uuid.UUID, date]]] = {chain: set() for chain in chains}
    for r in await session.execute(_CHAIN_VISITS, {"chains": list(found)}):
        found[r.claim_id].add((r.authorization_id, r.date_of_service))
    return found


def _visit_rows(visits: Sequence[tuple[uuid.UUID, uuid.UUID, date]]) -> str:
    keys = ("claim_id", "authorization_id", "date_of_service")
    return json.dumps([dict(zip(keys, (str(c), str(a), d.isoformat()), strict=True)) for c, a, d in visits])


async def change_visits(
    session: AsyncSession,
    added: Sequence[tuple[uuid.UUID, uuid.UUID, date]],
    removed: Sequence[tuple[uuid.UUID, uuid.UUID, date]],
) -> dict[uuid.UUID, int]:
    """Keep and forget visits (chain, authorization, date); returns, per authorization, how many
    visits this really added less removed (a visit already kept, or already gone, counts 0)."""
    deltas: dict[uuid.UUID, int] = {}
    for statement, rows, sign in ((_ADD_VISITS, added, 1), (_REMOVE_VISITS, removed, -1)):
        if rows:
            for auth_id in (await session.execute(statement, {"rows": _visit_rows(rows)})).scalars():
                deltas[auth_id] = deltas.get(auth_id, 0) + sign
    return deltas


async def count_visits(session: AsyncSession, deltas: dict[uuid.UUID, int]) -> list[RowMapping]:
    """Add each authorization's delta to its visits used (never below 0); their new rows."""
    changed = [{"id": str(auth_id), "delta": delta} for auth_id, delta in deltas.items() if delta]
    if not changed:
        return []
    return list((await session.execute(_COUNT_VISITS, {"deltas": json.dumps(changed)})).mappings())
