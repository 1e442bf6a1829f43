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
    "id, patient_id, payer_id, number, kind, service_codes, start_date, end_date, visits_allowed, "
    "visits_used, created_at"
)
_INSERT = text(
    "INSERT INTO authorizations (id, patient_id, payer_id, number, kind, service_codes, "  # noqa: S608
    "start_date, end_date, visits_allowed, visits_used, recorded_by) VALUES (:id, :p, "
    ":payer, :n, :k, CAST(:codes AS jsonb), :s, :e, :va, :vu, :by) "
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
