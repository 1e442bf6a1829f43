"""The reports' SQL, over the claims and denials tables (read only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, text
from sqlmodel.ext.asyncio.session import AsyncSession

# The KPIs' claims: created in [:start, :end] (dates), of :payer if given; as `claims`, as `c`.
_RANGE = (
    "{c}created_at >= :start AND {c}created_at < CAST(:end AS date) + 1 "
    "AND (CAST(:payer AS text) IS NULL OR {c}payer_id = :payer)"
)
_IN_RANGE, _C_IN_RANGE = _RANGE.format(c=""), _RANGE.format(c="c.")
_TOTALS = text(
    f"""
    SELECT count(*) AS created,
           count(*) FILTER (WHERE first_scrub_clean IS NOT NULL) AS scrubbed,
           count(*) FILTER (WHERE first_scrub_clean) AS clean,
           count(*) FILTER (WHERE adjudicated_at IS NOT NULL) AS adjudicated,
           count(*) FILTER (WHERE submission_count > 0) AS submitted,
           count(*) FILTER (WHERE adjudicated_at IS NOT NULL AND submission_count = 1
               AND NOT EXISTS (
               SELECT 1 FROM claim_status_history h WHERE h.claim_id = claims.id
               AND h.to_status IN ('rejected', 'denied', 'partial'))) AS first_pass,
           coalesce(sum(total_charge), 0) AS charges
    FROM claims WHERE {_IN_RANGE}
    """  # noqa: S608 - constant
)
_DENIALS = text(
    "SELECT d.reason_code, d.payer_id, count(DISTINCT d.claim_id) FROM denials d "  # noqa: S608
    f"JOIN claims c ON c.id = d.claim_id WHERE {_C_IN_RANGE} GROUP BY d.reason_code, d.payer_id"
)
# Claims per payer and status: where the range's claims are now, and each payer's adjudicated.
_BY_STATUS = text(
    "SELECT payer_id, status, count(*), count(*) FILTER (WHERE adjudicated_at IS NOT NULL) "  # noqa: S608
    f"FROM claims WHERE {_IN_RANGE} GROUP BY payer_id, status"
)
_DENIED_CLAIMS = text(
    "SELECT count(DISTINCT d.claim_id) FROM denials d JOIN claims c ON c.id = d.claim_id "  # noqa: S608
    f"WHERE {_C_IN_RANGE}"
)


async def kpi_counts(
    session: AsyncSession, start: date, end: date, payer_id: str | None
) -> tuple[Row[Any], Sequence[Row[Any]], Sequence[Row[Any]], int]:
    """For claims created in [start, end] (of one payer, if given): the totals row, denials by
    (reason, payer), claims by (payer, status) with the adjudicated among them, and the number
    of denied claims. (Open A/R is the receivables' sum.)"""
    params: dict[str, Any] = {"start": start, "end": end, "payer": payer_id}
    totals = (await session.execute(_TOTALS, params)).one()
    denials = (await session.execute(_DENIALS, params)).all()
    by_status = (await session.execute(_BY_STATUS, params)).all()
    denied_claims = (await session.execute(_DENIED_CLAIMS, params)).scalar_one()
    return totals, denials, by_status, denied_claims
