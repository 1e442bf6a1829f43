"""All of the parties' SQL: keeping each encounter's once, the registry's highest revision per
account, and reading either."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.parties.tables import encounter_parties, registry_parties
from shared.bulk import insert_many, upsert_newer


async def add_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Keep each encounter's parties once (a redelivered encounter is skipped)."""
    await insert_many(session, encounter_parties, rows, on_conflict=["encounter_id"])


async def keep_registry(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert the registry's copy of each account, replacing a stored one only with a higher
    revision (a batch's rows of one account are cut to its newest first): a redelivered or late
    older revision changes nothing, so the address never rolls back."""
    await upsert_newer(session, registry_parties, rows, key="account_id", revision="revision")


async def registry(session: AsyncSession, account_ids: Sequence[str]) -> Sequence[Row[Any]]:
    """The registry's copy of each of these accounts it has spoken of."""
    return (
        await session.execute(
            text(
                "SELECT account_id, patient, guarantor, relationship, revision FROM registry_parties "
                "WHERE account_id = ANY(:a)"
            ),
            {"a": list(account_ids)},
        )
    ).all()


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
