"""Issuing statements and reading them back. The caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.settings import payments_settings
from services.payments.statements import store
from services.payments.statements.domain import line
from shared.events import new_event
from shared.events.catalogue import StatementIssued
from shared.outbox import add_event
from shared.problems import ProblemError


async def run_statement_cycle(
    session: AsyncSession, statement_date: date, account_id: str | None = None
) -> list[uuid.UUID]:
    """One statement per account whose patient balance is positive (once per date), each
    with `statement.issued`; returns the ids issued now."""
    due_date = statement_date + timedelta(days=payments_settings().statement_due_days)
    issued = []
    now = datetime.now(UTC)
    for acct in await store.owing_accounts(session, account_id):
        lines = [line(r) for r in await store.item_sums(session, acct.account_id)]
        statement_id = uuid.uuid4()
        inserted = await store.add_statement(
            session,
            id=statement_id,
            account_id=acct.account_id,
            statement_date=statement_date,
            due_date=due_date,
            amount_due=acct.due,
            content={"lines": lines},
            issued_at=now,
        )
        if not inserted:
            continue
        event = StatementIssued(
            statement_id=statement_id,
            account_id=acct.account_id,
            balance=acct.due,
            due_date=due_date,
            issued_at=now,
        )
        add_event(session, new_event(event))
        issued.append(statement_id)
    return issued


async def statement_or_404(session: AsyncSession, statement_id: uuid.UUID) -> Any:
    row = await store.get_statement(session, statement_id)
    if row is None:
        raise ProblemError(404, "not-found", "Statement not found")
    return row
