"""The mailbox report's SQL: files up and down by kind and state, claims by state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession


async def counts(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    up = await session.execute(
        text(
            "SELECT partner_id, kind, state, count(*) AS files, sum(claim_count) AS claims "
            "FROM submission_files GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    )
    down = await session.execute(
        text(
            "SELECT partner_id, coalesce(kind, 'unidentified') AS kind, state, count(*) AS files "
            "FROM received_files GROUP BY 1, 2, 3 ORDER BY 1 NULLS FIRST, 2, 3"
        )
    )
    claims = await session.execute(
        text(
            "SELECT partner_id, state, ack_state, count(*) AS claims "
            "FROM outbound_claims GROUP BY 1, 2, 3 ORDER BY 1 NULLS FIRST, 2, 3"
        )
    )
    return {
        "files_up": [dict(r._mapping) for r in up],
        "files_down": [dict(r._mapping) for r in down],
        "claims": [dict(r._mapping) for r in claims],
    }
