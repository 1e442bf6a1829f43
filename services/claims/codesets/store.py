"""All SQL on the code data tables.

The scrubber's reads take a whole batch: the versions (a small table), then one statement per
kind for the rows of the versions in effect that name the batch's codes (`= ANY`, on the
primary keys), so a poll of encounters costs the same few statements as one claim, and a full
CMS file (hundreds of thousands of rows) is never read into memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.codesets.domain import CodeEntry, MueEdit, PtpEdit, Version
from services.claims.codesets.tables import ROW_TABLES, CodeDataLoad
from shared.bulk import insert_many

CHUNK = 5000  # rows per insert: bounded parameters for a full CMS file

_VERSIONS = text("SELECT id, kind, effective_date FROM code_data_loads")
_LOADS = text(
    "SELECT id, kind, effective_date, source, row_count, loaded_by, loaded_at FROM code_data_loads "
    "ORDER BY kind, effective_date, id"
)
_FIND = text(
    "SELECT id FROM code_data_loads WHERE kind = :kind AND effective_date = :effective AND sha256 = :sha"
)
_WITHDRAW = text("DELETE FROM code_data_loads WHERE id = :id RETURNING kind")
_IDS = "load_id = ANY(CAST(:loads AS bigint[]))"
_PTP = text(
    "SELECT load_id, column1, column2, effective_date, deletion_date, modifier_indicator "  # noqa: S608 - constant
    f"FROM ncci_ptp_edits WHERE {_IDS} AND column1 = ANY(CAST(:codes AS text[])) "
    "AND column2 = ANY(CAST(:codes AS text[]))"
)
_MUE = text(
    f"SELECT load_id, code, units, mai FROM mue_edits WHERE {_IDS} AND code = ANY(CAST(:codes AS text[]))"  # noqa: S608 - constant
)
_CODES = text(
    "SELECT load_id, code, is_modifier, added_date, termination_date FROM hcpcs_codes "  # noqa: S608 - constant
    f"WHERE {_IDS} AND code = ANY(CAST(:codes AS text[]))"
)


async def versions(session: AsyncSession) -> list[Version]:
    return [Version(r.id, r.kind, r.effective_date) for r in await session.execute(_VERSIONS)]


async def loads(session: AsyncSession) -> list[dict[str, Any]]:
    """Every load, for the operator's list."""
    return [dict(r._mapping) for r in await session.execute(_LOADS)]


async def find_load(session: AsyncSession, kind: str, effective: date, sha256: str) -> int | None:
    """The version already made from these bytes for this kind and date, if any."""
    return (await session.execute(_FIND, {"kind": kind, "effective": effective, "sha": sha256})).scalar()


async def add_load(session: AsyncSession, load: dict[str, Any], rows: Sequence[dict[str, Any]]) -> int:
    """A new version and its rows (in the caller's transaction); returns its id."""
    record = CodeDataLoad(**load)
    session.add(record)
    await session.flush()
    assert record.id is not None
    table = ROW_TABLES[load["kind"]].__table__
    for start in range(0, len(rows), CHUNK):
        await insert_many(session, table, [{"load_id": record.id, **r} for r in rows[start : start + CHUNK]])
    return record.id


async def withdraw(session: AsyncSession, load_id: int) -> str | None:
    """Delete a version and its rows; returns its kind, None when there was none."""
    return (await session.execute(_WITHDRAW, {"id": load_id})).scalar()


async def rows_for(
    session: AsyncSession, load_ids: dict[str, set[int]], codes: Sequence[str]
) -> tuple[list[tuple[int, PtpEdit]], list[tuple[int, MueEdit]], list[tuple[int, bool, CodeEntry]]]:
    """The rows of these versions (by kind) that name these codes (and modifiers)."""
    wanted = sorted(set(codes))

    def params(*kinds: str) -> dict[str, Any]:
        return {"loads": sorted(set().union(*(load_ids.get(k, set()) for k in kinds))), "codes": wanted}

    ptp: list[tuple[int, PtpEdit]] = []
    if load_ids.get("ncci-ptp"):
        for r in await session.execute(_PTP, params("ncci-ptp")):
            edit = PtpEdit(r.column1, r.column2, r.effective_date, r.deletion_date, r.modifier_indicator)
            ptp.append((r.load_id, edit))
    mue: list[tuple[int, MueEdit]] = []
    if load_ids.get("mue"):
        mue = [
            (r.load_id, MueEdit(r.code, r.units, r.mai)) for r in await session.execute(_MUE, params("mue"))
        ]
    entries: list[tuple[int, bool, CodeEntry]] = []
    if load_ids.get("cpt") or load_ids.get("hcpcs"):
        for r in await session.execute(_CODES, params("cpt", "hcpcs")):
            entries.append((r.load_id, r.is_modifier, CodeEntry(r.code, r.added_date, r.termination_date)))
    return ptp, mue, entries
