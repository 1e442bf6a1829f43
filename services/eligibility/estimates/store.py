"""All SQL of estimates: our copy of the payers' fee schedules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import RowMapping, text
from sqlmodel.ext.asyncio.session import AsyncSession

_ALLOWED = text(
    "SELECT allowed, fee_schedule_id, effective_date FROM fee_schedule_entries "
    "WHERE payer_id = :p AND code = :c AND modifier = :m AND effective_date <= :on "
    "ORDER BY effective_date DESC LIMIT 1"
)
# A repeat of the same schedule overwrites itself (insert_many has no ON CONFLICT).
_UPSERT = text(
    "INSERT INTO fee_schedule_entries "
    "(payer_id, code, modifier, effective_date, allowed, fee_schedule_id) "
    "VALUES (:p, :c, :m, :d, :a, :f) ON CONFLICT (payer_id, code, modifier, effective_date) "
    "DO UPDATE SET allowed = EXCLUDED.allowed, fee_schedule_id = EXCLUDED.fee_schedule_id, "
    "received_at = clock_timestamp()"
)


async def newest_allowed(
    session: AsyncSession, payer_id: str, code: str, modifier: str, on: date
) -> RowMapping | None:
    """The newest received allowed amount effective on `on` for exactly this code and modifier."""
    params = {"p": payer_id, "c": code, "m": modifier, "on": on}
    return (await session.execute(_ALLOWED, params)).mappings().one_or_none()


async def upsert_entries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Keep a schedule's entries (rows with keys p, c, m, d, a, f)."""
    await session.execute(_UPSERT, list(rows))
