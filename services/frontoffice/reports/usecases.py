"""The ticket report: open tickets by age and category now; breaches and median time to
resolve within a date range. Every category appears in every section (zeros included), so a
front end draws the same table every time."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.reports import store
from services.frontoffice.reports.schemas import AgeRow, BreachRow, ResolveRow, TicketReport
from services.frontoffice.servicelevels.domain import TARGETS
from shared.paging import DateRange

BUCKETS = ("0-2", "3-7", "8-30", ">30")


async def ticket_report(session: AsyncSession, dates: DateRange, now: datetime | None = None) -> TicketReport:
    now = now or datetime.now(UTC)
    ages = {c: dict.fromkeys(BUCKETS, 0) for c in TARGETS}
    for row in await store.open_by_age(session, now):
        ages[row.category][row.bucket] = row.n
    breached = {row.category: row for row in await store.breaches(session, dates)}
    resolved = {row.category: row for row in await store.time_to_resolve(session, dates)}
    age_rows = [AgeRow(category=c, total=sum(b.values()), **b) for c, b in ages.items()]  # type: ignore[arg-type]
    breach_rows = [
        BreachRow(
            category=c,  # type: ignore[arg-type]
            breaches=breached[c].n if c in breached else 0,
            still_open=breached[c].open if c in breached else 0,
        )
        for c in TARGETS
    ]
    resolve_rows = [
        ResolveRow(
            category=c,  # type: ignore[arg-type]
            resolved=resolved[c].n if c in resolved else 0,
            median_hours=round(float(resolved[c].median) / 3600, 2) if c in resolved else None,
        )
        for c in TARGETS
    ]
    return TicketReport(
        date_from=dates.date_from,
        date_to=dates.date_to,
        open_by_age=age_rows,
        open_total=sum(r.total for r in age_rows),
        breaches=breach_rows,
        breaches_total=sum(r.breaches for r in breach_rows),
        time_to_resolve=resolve_rows,
    )
