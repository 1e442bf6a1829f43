"""The denied balances' SQL: the standing postings' adjustments and the ledger sums of each
claim item (read from `claim_postings` and `ledger_entries`, which postings and accounts own)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.denials.domain import WORKED, DeniedItem

_STANDING = text(
    "SELECT p.claim_id, p.account_id, p.payer_id, p.adjustments FROM claim_postings p "
    "WHERE (p.account_id = CAST(:a AS text) OR p.claim_id = ANY(CAST(:ids AS uuid[]))) "
    "AND p.status_code <> '22' "
    "AND NOT EXISTS (SELECT 1 FROM claim_postings r WHERE r.reverses_posting_id = p.id) "
    "ORDER BY p.posted_at"
)
_SUMS = text(
    "SELECT item_id, min(service_date) AS dos, "
    "coalesce(sum(amount) FILTER (WHERE bucket = 'insurance'), 0) AS insurance, "
    "coalesce(-sum(amount) FILTER (WHERE bucket = 'insurance' AND reason_code = :worked), 0) AS worked, "
    "coalesce(-sum(amount) FILTER (WHERE bucket = 'insurance' AND reason_code = :worked "
    "AND entry_type = 'transfer'), 0) AS billed "
    "FROM ledger_entries WHERE item_id = ANY(:items) GROUP BY item_id"
)


async def denied_items(
    session: AsyncSession, *, account_id: str | None = None, claim_ids: Sequence[uuid.UUID] = ()
) -> dict[uuid.UUID, DeniedItem]:
    """The claim items of an account (or these claims) that have standing 835 postings, with
    their denials and ledger sums; the caller keeps those with something open."""
    rows = await session.execute(_STANDING, {"a": account_id, "ids": list(claim_ids)})
    items: dict[uuid.UUID, DeniedItem] = {}
    for r in rows:
        item = items.setdefault(r.claim_id, DeniedItem(r.claim_id, r.account_id, r.payer_id))
        item.add_posting(r.adjustments)
    if not items:
        return {}
    for r in await session.execute(_SUMS, {"items": list(items), "worked": WORKED}):
        item = items[r.item_id]
        item.service_date = r.dos
        item.insurance, item.worked, item.billed_patient = (
            Decimal(r.insurance),
            Decimal(r.worked),
            Decimal(r.billed),
        )
    return items
