"""All of the dunning SQL: the cycle's lock, sequences and their steps."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, insert, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.dunning.tables import dunning_sequences, dunning_steps


async def lock_cycle(session: AsyncSession) -> None:
    """One cycle at a time across replicas (held to the end of the transaction): a cycle that
    waited finds the notices and steps of the one before it taken, so an account hears once."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('payments-account-cycle'))"))


async def start_sequence(session: AsyncSession, account_id: str, on: date, now: datetime) -> uuid.UUID:
    sequence_id = uuid.uuid4()
    values = {"id": sequence_id, "account_id": account_id, "started_on": on, "created_at": now}
    await session.execute(insert(dunning_sequences).values(**values))
    return sequence_id


async def add_step(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(dunning_steps).values(**values))


async def close(session: AsyncSession, sequence_id: uuid.UUID, on: date, reason: str) -> None:
    await session.execute(
        text("UPDATE dunning_sequences SET closed_on = :on, closed_reason = :r WHERE id = :id"),
        {"on": on, "r": reason, "id": sequence_id},
    )


async def close_paid(session: AsyncSession, on: date) -> None:
    """Close the open sequences of accounts that no longer owe on their patient balance."""
    await session.execute(
        text(
            "UPDATE dunning_sequences s SET closed_on = :on, closed_reason = 'paid' WHERE closed_on IS NULL "
            "AND coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = s.account_id "
            "AND l.bucket = 'patient'), 0) <= 0"
        ),
        {"on": on},
    )


async def open_steps(session: AsyncSession, account_id: str | None) -> Sequence[Row[Any]]:
    """Every step of every open sequence (or the one account's), with the due date of the
    statement a statement step issued; by account, then step."""
    return (
        await session.execute(
            text(
                "SELECT s.id AS sequence_id, s.account_id, d.step, d.kind, d.reason, d.step_date, "
                "d.plan_id, st.due_date AS statement_due "
                "FROM dunning_sequences s JOIN dunning_steps d ON d.sequence_id = s.id "
                "LEFT JOIN statements st ON st.id = d.statement_id "
                "WHERE s.closed_on IS NULL AND (CAST(:a AS text) IS NULL OR s.account_id = :a) "
                "ORDER BY s.account_id, d.step"
            ),
            {"a": account_id},
        )
    ).all()


async def open_sequence(session: AsyncSession, account_id: str) -> uuid.UUID | None:
    row = (
        await session.execute(
            text("SELECT id FROM dunning_sequences WHERE account_id = :a AND closed_on IS NULL"),
            {"a": account_id},
        )
    ).first()
    return row.id if row else None


async def history(session: AsyncSession, account_id: str) -> Sequence[Row[Any]]:
    """Every step the account ever took, oldest first, with its sequence."""
    return (
        await session.execute(
            text(
                "SELECT d.*, s.started_on, s.closed_on, s.closed_reason FROM dunning_steps d "
                "JOIN dunning_sequences s ON s.id = d.sequence_id WHERE d.account_id = :a "
                "ORDER BY s.started_on, s.created_at, d.step"
            ),
            {"a": account_id},
        )
    ).all()
