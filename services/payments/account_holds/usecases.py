"""Placing and releasing the front office's holds, and reading which accounts are held. The
caller owns the transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.account_holds import store
from services.payments.account_holds.domain import Held, keeps_from
from services.payments.collections import usecases as collections

log = logging.getLogger(__name__)

# Who a dispute the front office opened is opened and resolved by (the ticket is its source).
FRONT_OFFICE = "frontoffice"


async def place(
    session: AsyncSession,
    *,
    hold_id: uuid.UUID,
    account_id: str,
    reason: str,
    source_id: uuid.UUID,
    holds_statements: bool,
    holds_collections: bool,
    placed_at: datetime,
) -> bool:
    """Hold the account, once per hold (False: on file already). A dispute hold opens the
    dispute through collections' one dispute command, naming its ticket (so the same ticket
    told twice opens one dispute, and an account with the agency is recalled)."""
    statements, collections_too = keeps_from(reason, holds_statements, holds_collections)
    placed = await store.add(
        session,
        id=hold_id,
        account_id=account_id,
        reason=reason,
        source_id=source_id,
        holds_statements=statements,
        holds_collections=collections_too,
        placed_at=placed_at,
        received_at=datetime.now(UTC),
    )
    if not placed:
        log.info("account hold on file already; nothing to do", extra={"hold_id": str(hold_id)})
        return False
    if reason == "dispute":
        await collections.open_dispute(session, account_id, "Dispute ticket", FRONT_OFFICE, source_id)
    return True


async def release(
    session: AsyncSession,
    *,
    hold_id: uuid.UUID,
    account_id: str,
    reason: str,
    source_id: uuid.UUID,
    outcome: str,
    released_at: datetime,
) -> bool:
    """End the hold; the account continues its cycle at the next run. A dispute hold resolves
    its ticket's dispute (the same command as the API's) with the release's outcome. A release
    of nothing placed (or released already) is a no-op, logged with ids only (no PHI)."""
    ended = await store.release(
        session,
        hold_id=hold_id,
        account_id=account_id,
        reason=reason,
        source_id=source_id,
        outcome=outcome,
        at=released_at,
    )
    if not ended:
        log.info(
            "account hold release without an open hold; nothing to do",
            extra={"hold_id": str(hold_id), "reason": reason},
        )
        return False
    for hold in ended:
        if hold.reason == "dispute":
            dispute = await collections.open_dispute_of_source(session, hold.source_id)
            if dispute is not None:  # staff may have resolved it through the API already
                await collections.resolve_dispute(session, account_id, dispute.id, outcome, FRONT_OFFICE)
    return True


async def held_accounts(session: AsyncSession, account_ids: Sequence[str] | None = None) -> Held:
    """Which of these accounts (or of all) wait: an open dispute (the API's or a ticket's) or a
    hold that keeps them from statements waits for everything; a hold that keeps them from
    collections waits for the steps toward the agency."""
    disputed = await collections.disputed_accounts(
        session, None if account_ids is None else list(account_ids)
    )
    rows = await store.held(session, account_ids)
    statements = disputed | {r.account_id for r in rows if r.statements}
    return Held(statements=statements, collections=statements | {r.account_id for r in rows if r.collections})
