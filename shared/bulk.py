"""Many rows into one table in one statement: `INSERT ... SELECT * FROM unnest(arrays)`.

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

from sqlalchemy import Row, Table, TextClause, text
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
