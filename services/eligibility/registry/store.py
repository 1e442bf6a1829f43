"""All SQL on `registry_copies`. Callers own the session and its transaction."""

from __future__ import annotations

from sqlalchemy import RowMapping, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.registry.tables import registry_copies

_HALVES = {
    "patient": (registry_copies.c.patient_revision, registry_copies.c.patient_enc),
    "coverages": (registry_copies.c.coverage_revision, registry_copies.c.coverages_enc),
}


async def keep_half(session: AsyncSession, patient_id: str, half: str, revision: int, sealed: bytes) -> bool:
    """Keep one half of a patient's copy (`patient` or `coverages`) at `revision`, unless the
    copy already holds that revision or a newer one: redelivered or reordered events change
    nothing. True when this call changed the copy."""
    revision_col, sealed_col = _HALVES[half]
    values = {"patient_id": patient_id, revision_col.name: revision, sealed_col.name: sealed}
    stmt = insert(registry_copies).values(
        **values,
        **{other.name: 0 for name, (other, _) in _HALVES.items() if name != half},
        updated_at=func.clock_timestamp(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[registry_copies.c.patient_id],
        set_={
            revision_col.name: stmt.excluded[revision_col.name],
            sealed_col.name: stmt.excluded[sealed_col.name],
            "updated_at": func.clock_timestamp(),
        },
        where=revision_col < stmt.excluded[revision_col.name],
    ).returning(registry_copies.c.patient_id)
    return (await session.execute(stmt)).first() is not None


async def load(session: AsyncSession, patient_id: str) -> RowMapping | None:
    """The patient's copy (both halves, sealed), or None when the registry never told us of them."""
    stmt = select(registry_copies).where(registry_copies.c.patient_id == patient_id)
    return (await session.execute(stmt)).mappings().one_or_none()
