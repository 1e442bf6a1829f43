"""The reports' SQL, over the claims and denials tables (read only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, text
from sqlmodel.ext.asyncio.session import AsyncSession

# The KPIs' claims: created in [:start, :end] (dates), of :payer if given; as `c`.
_IN_RANGE = (
    "c.created_at >= :start AND c.created_at < CAST(:end AS date) + 1 "
    "AND (CAST(:payer AS text) IS NULL OR c.payer_id = :payer)"
)
# One pass over the range's claims, per (payer, status): every count the KPIs need. The range
# is read from claims_created alone (an index-only scan; 0010_history_indexes). A claim is
# first-pass when adjudicated on its first submission and never rejected, denied or partly
# paid: the claims ever set back are one hashed set (claim_status_history_setback), not a
# probe of each claim's history.
_COUNTS = """count(*) AS created,
           count(*) FILTER (WHERE c.first_scrub_clean IS NOT NULL) AS scrubbed,
           count(*) FILTER (WHERE c.first_scrub_clean) AS clean,
           count(*) FILTER (WHERE c.adjudicated_at IS NOT NULL) AS adjudicated,
           count(*) FILTER (WHERE c.submission_count > 0) AS submitted,
           count(*) FILTER (WHERE c.adjudicated_at IS NOT NULL AND c.submission_count = 1
                            AND s.claim_id IS NULL) AS first_pass,
           coalesce(sum(c.total_charge), 0) AS charges
      FROM claims c
      LEFT JOIN (SELECT DISTINCT claim_id FROM claim_status_history
                  WHERE to_status IN ('rejected', 'denied', 'partial')) s ON s.claim_id = c.id"""
_BY_PAYER_AND_STATUS = text(
    f"SELECT c.payer_id, c.status, {_COUNTS} WHERE {_IN_RANGE} GROUP BY c.payer_id, c.status"
)
# Denied claims of the range by (reason, payer), and (the empty grouping set, reason NULL and
# `everything` true) all denied claims once each.
_DENIALS = text(
    "SELECT d.reason_code, d.payer_id, count(DISTINCT d.claim_id) AS claims, "  # noqa: S608
    "GROUPING(d.reason_code, d.payer_id) = 3 AS everything "
    f"FROM denials d JOIN claims c ON c.id = d.claim_id WHERE {_IN_RANGE} "
    "GROUP BY GROUPING SETS ((d.reason_code, d.payer_id), ())"
)

# The split by claim type (issue 20): the type is in the claim's content (`data->>'claim_type'`,
# absent on the claims made before institutional billing: professional). Reading it leaves the
# index-only scan for the heap, so the KPIs compute it only when asked (`by_claim_type=true`).
_CLAIM_TYPE = "coalesce(c.data->>'claim_type', 'professional')"
_BY_TYPE_AND_STATUS = text(
    f"SELECT {_CLAIM_TYPE} AS claim_type, c.status, {_COUNTS} WHERE {_IN_RANGE} GROUP BY 1, c.status"
)
# Denied claims by (type, reason), and per type (reason NULL, `everything`) each denied claim once.
_DENIALS_BY_TYPE = text(
    f"SELECT {_CLAIM_TYPE} AS claim_type, d.reason_code, "  # noqa: S608 - constants
    "count(DISTINCT d.claim_id) AS claims, GROUPING(d.reason_code) = 1 AS everything "
    f"FROM denials d JOIN claims c ON c.id = d.claim_id WHERE {_IN_RANGE} "
    f"GROUP BY GROUPING SETS (({_CLAIM_TYPE}, d.reason_code), ({_CLAIM_TYPE}))"
)


async def kpi_counts(
    session: AsyncSession, start: date, end: date, payer_id: str | None
) -> tuple[Sequence[Row[Any]], Sequence[Row[Any]]]:
    """For claims created in [start, end] (of one payer, if given): the counts per (payer,
    status) (created, scrubbed, clean, adjudicated, submitted, first_pass, charges), and the
    denied claims per (reason, payer) with one `everything` row counting each denied claim
    once. (Open A/R is the receivables' sum.)"""
    params: dict[str, Any] = {"start": start, "end": end, "payer": payer_id}
    # The set-back claims' hash (every claim ever rejected, denied or partly paid: 224,000 at a
    # million claims, 12 MB) spilled to disk in two batches at the default 4 MB (EXPLAIN
    # ANALYZE, bench/README.md "History scale"); for this transaction only.
    await session.execute(text("SET LOCAL work_mem = '32MB'"))
    counts = (await session.execute(_BY_PAYER_AND_STATUS, params)).all()
    denials = (await session.execute(_DENIALS, params)).all()
    return counts, denials


async def kpi_counts_by_claim_type(
    session: AsyncSession, start: date, end: date, payer_id: str | None
) -> tuple[Sequence[Row[Any]], Sequence[Row[Any]]]:
    """The same counts as `kpi_counts`, per (claim type, status) and the denied claims per
    (claim type, reason) with one `everything` row per type: the professional and institutional
    parts of the same totals."""
    params: dict[str, Any] = {"start": start, "end": end, "payer": payer_id}
    await session.execute(text("SET LOCAL work_mem = '32MB'"))
    counts = (await session.execute(_BY_TYPE_AND_STATUS, params)).all()
    denials = (await session.execute(_DENIALS_BY_TYPE, params)).all()
    return counts, denials
