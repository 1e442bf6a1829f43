"""Taking due work rows: the one way a worker picks what to do next.

Every replica runs every worker, so two must never take the same row. The rows are picked with
`FOR UPDATE SKIP LOCKED`: a replica skips what another holds instead of waiting for it. Two
kinds of work use it:

- work done inside the picking transaction (a follow-up, an installment) needs no lease: the
  row lock lasts until the transaction commits, and a crash releases it;
- work done after the picking transaction commits (a call to a payer, an email) takes a lease:
  the same statement pushes a timestamp column into the future, and the row is due again when
  the lease runs out, so a crashed replica's rows are picked up by another after the lease.
  `kept` renews such a lease while the work runs (a heartbeat), so the lease can be short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, func, select, tuple_, update
from sqlalchemy.sql.elements import ColumnClause
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)


def _table(target: Any) -> Table:
    return target if isinstance(target, Table) else target.__table__


async def claim_due(
    session: AsyncSession,
    target: Any,
    *,
    due: ColumnElement[bool],
    order_by: Sequence[Any],
    limit: int,
    lease: tuple[ColumnClause[Any], float] | None = None,
    values: Mapping[str, Any] | None = None,
    returning: Sequence[Any] | None = None,
) -> Sequence[Row[Any]]:
    """Pick up to `limit` rows of `target` (a Table or a SQLModel class) matching `due`, oldest
    first by `order_by`, that no other transaction holds.

    With `lease=(column, seconds)` the rows' `column` is set to now + seconds in the same
    statement (and `values`, e.g. an attempt counter, are set with it); without a lease the
    rows stay locked until the caller's transaction ends. Returns the `returning` columns
    (default: the whole row), in `order_by` order."""
    table = _table(target)
    columns = list(returning) if returning is not None else list(table.c)
    if lease is None and not values:
        stmt = select(*columns).where(due).order_by(*order_by).limit(limit).with_for_update(skip_locked=True)
        return (await session.execute(stmt)).all()
    keys = list(table.primary_key.columns)
    picked = select(*keys).where(due).order_by(*order_by).limit(limit).with_for_update(skip_locked=True)
    changes: dict[Any, Any] = dict(values or {})
    if lease is not None:
        column, seconds = lease
        changes[column.key] = func.clock_timestamp() + func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    where = keys[0].in_(picked) if len(keys) == 1 else tuple_(*keys).in_(picked)
    stmt = update(table).where(where).values(changes).returning(*columns)
    rows = (await session.execute(stmt)).all()
    return sorted(rows, key=lambda r: tuple(_sort_key(r, c) for c in order_by)) if rows else rows


def _sort_key(row: Row[Any], clause: Any) -> Any:
    """UPDATE … RETURNING has no order: sort by the order_by columns that were returned."""
    element = getattr(clause, "element", clause)  # unwrap .desc()/.asc()
    name = getattr(element, "key", None)
    value = row._mapping.get(name) if name else None
    return (value is None, value) if value is not None else (True, 0)


class Lease:
    """A lease on claimed rows that a heartbeat keeps renewing (see `kept`)."""

    def __init__(self, seconds: float, taken_at: float) -> None:
        self.seconds = seconds
        self._until = taken_at + seconds

    def renewed(self, at: float) -> None:
        """A renewal that started at loop time `at` committed."""
        self._until = max(self._until, at + self.seconds)

    def held(self) -> bool:
        """False once the lease may have run out (renewals failed): another replica may have
        taken the rows, so no more work should start under it."""
        return asyncio.get_running_loop().time() < self._until


@contextlib.asynccontextmanager
async def kept(
    renew: Callable[[], Awaitable[object]], seconds: float, *, taken_at: float
) -> AsyncIterator[Lease]:
    """Keep a `claim_due` lease of `seconds` while the block runs: `renew()` (one statement
    pushing the lease column forward again, in its own transaction) every third of the lease.

    So a lease can be short (a crashed replica's rows come back within `seconds`) and still
    never run out under a live worker whose call to the outside takes longer: the worker
    records its outcome before the rows are due again. `taken_at` is the loop time just before
    the claiming transaction began. A renewal that fails (database away) is logged and tried
    at the next beat; `Lease.held()` tells when the lease may have run out."""
    loop = asyncio.get_running_loop()
    lease = Lease(seconds, taken_at)
    beat = seconds / 3

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(beat)
            started = loop.time()
            try:
                async with asyncio.timeout(beat):
                    await renew()
            except Exception as exc:
                log.warning("lease renewal failed", extra={"error_type": type(exc).__name__})
                continue
            lease.renewed(started)

    task = asyncio.create_task(heartbeat(), name="lease-heartbeat")
    try:
        yield lease
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
