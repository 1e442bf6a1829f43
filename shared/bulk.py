"""Many rows into one table in one statement: `INSERT ... SELECT * FROM unnest(arrays)`, and
the upsert that keeps another domain's record at its highest revision (`upsert_newer`).

A batch handler that makes hundreds of rows would otherwise go through the ORM's unit of
work (a Python object and its bookkeeping per row) or a Core executemany (PostgreSQL still
executes one INSERT per row). Here each column travels as one array parameter, so the SQL
text is the same for every batch size: compiled and prepared once, executed once per batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Row, Table, TextClause, or_, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import JSON
from sqlmodel.ext.asyncio.session import AsyncSession

_DIALECT = postgresql.dialect()


@cache
def _statement(
    table: Table, columns: tuple[str, ...], on_conflict: tuple[str, ...] | None, returning: tuple[str, ...]
) -> TextClause:
    arrays = ", ".join(
        f"CAST(:c{i} AS {table.columns[name].type.compile(dialect=_DIALECT)}[])"
        for i, name in enumerate(columns)
    )
    names = ", ".join(columns)
    sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 (our names)
    if on_conflict is not None:
        target = f" ({', '.join(on_conflict)})" if on_conflict else ""
        sql += f" ON CONFLICT{target} DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    return text(sql)


def _is_json(table: Table, name: str) -> bool:
    return isinstance(table.columns[name].type, JSON)


async def insert_many(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[Row[Any]]:
    """Insert `rows` (dicts of column name → value, all with the same keys) into `table`.

    Python None is SQL NULL in every column (JSON columns too, unlike the ORM's JSON null);
    JSON values are serialized here, except bytes, which are taken as JSON text already
    encoded. Column defaults apply only to columns left out of the rows, so leave out what
    the database should fill (serial ids).

    `on_conflict`: the columns of a unique constraint whose conflicting rows are skipped
    (`ON CONFLICT (...) DO NOTHING`; an empty sequence skips any conflict), which is how a
    batch stays idempotent. `returning`: columns to read back from the rows actually
    inserted (a skipped row returns nothing); the answer is empty without it."""
    if not rows:
        return []
    columns = tuple(rows[0])
    params: dict[str, list[Any]] = {}
    for i, name in enumerate(columns):
        values = [row[name] for row in rows]
        if _is_json(table, name):
            # bytes: JSON encoded already (pydantic's dump_json, a third of json.dumps' cost)
            values = [
                None if v is None else v.decode() if isinstance(v, bytes) else json.dumps(v) for v in values
            ]
        params[f"c{i}"] = values
    conflict = None if on_conflict is None else tuple(on_conflict)
    result = await session.execute(_statement(table, columns, conflict, tuple(returning)), params)
    return list(result.all()) if returning else []


def newest_per_key(rows: Sequence[Mapping[str, Any]], *, key: str, revision: str) -> list[Mapping[str, Any]]:
    """Of a batch's rows, the one with the highest `revision` per `key`, ordered by key.

    One `INSERT ... ON CONFLICT DO UPDATE` may touch a row only once, so a batch holding two
    revisions of one key is cut to its newest first; the key order makes concurrent batches
    lock their rows in the same order."""
    best: dict[Any, Mapping[str, Any]] = {}
    for row in rows:
        kept = best.get(row[key])
        if kept is None or row[revision] > kept[revision]:
            best[row[key]] = row
    return [best[k] for k in sorted(best)]


async def upsert_newer(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str,
    revision: str,
    update: Sequence[str] | None = None,
) -> list[Any]:
    """Keep a copy of another domain's record at the highest revision seen: insert each row,
    or update the stored one with it only when its `revision` column is higher than the stored
    one (`ON CONFLICT (key) DO UPDATE ... WHERE stored.revision < excluded.revision`; a NULL
    stored revision, a part never received, counts as lower).

    A redelivered, replayed or reordered event therefore changes nothing, also when two
    replicas race on one key (the upsert's row lock serialises them and the later one compares
    against the first's revision). `update`: the columns an update replaces (the part of the
    record this revision guards; by default every column of the rows but the key); values may
    be SQL expressions (e.g. `func.clock_timestamp()`). Rows of one key are cut to the newest
    (`newest_per_key`). Returns the keys of the rows inserted or updated."""
    if not rows:
        return []
    batch = newest_per_key(rows, key=key, revision=revision)
    columns = [c for c in batch[0] if c != key] if update is None else list(update)
    stmt = postgresql.insert(table).values([dict(row) for row in batch])
    stored = table.c[revision]
    guard = stored < stmt.excluded[revision]
    if stored.nullable:
        guard = or_(stored.is_(None), guard)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={c: stmt.excluded[c] for c in columns},
        where=guard,
    ).returning(table.c[key])
    return list((await session.execute(stmt)).scalars().all())
