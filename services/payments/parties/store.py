"""All of the parties' SQL: keeping each encounter's once, and the newest per account."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.parties.tables import encounter_parties
from shared.bulk import insert_many


async def add_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Keep each encounter's parties once (a redelivered encounter is skipped)."""
    await insert_many(session, encounter_parties, rows, on_conflict=["encounter_id"])


async def newest(session: AsyncSession, account_ids: Sequence[str]) -> Sequence[Row[Any]]:
    """Per account, the parties of its latest encounter (by date of service, then arrival)."""
    return (
        await session.execute(
            text(
                "SELECT DISTINCT ON (account_id) account_id, patient, guarantor, relationship "
                "FROM encounter_parties WHERE account_id = ANY(:a) "
                "ORDER BY account_id, date_of_service DESC, received_at DESC"
            ),
            {"a": list(account_ids)},
        )
    ).all()
