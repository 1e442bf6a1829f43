"""All SQL on `registry_copies`. Callers own the session and its transaction."""

from __future__ import annotations

from sqlalchemy import RowMapping, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.registry.tables import registry_copies
from shared.bulk import upsert_newer

_HALVES = {
    "patient": (registry_copies.c.patient_revision, registry_copies.c.patient_enc),
    "coverages": (registry_copies.c.coverage_revision, registry_copies.c.coverages_enc),
}


async def keep_half(session: AsyncSession, patient_id: str, half: str, revision: int, sealed: bytes) -> bool:
    """Keep one half of a patient's copy (`patient` or `coverages`) at `revision`, unless the
    copy already holds that revision or a newer one: redelivered or reordered events change
    nothing. True when this call changed the copy."""
    revision_col, sealed_col = _HALVES[half]
    row = {
        "patient_id": patient_id,
        revision_col.name: revision,
        sealed_col.name: sealed,
        **{other.name: 0 for name, (other, _) in _HALVES.items() if name != half},
        "updated_at": func.clock_timestamp(),
    }
    kept = await upsert_newer(
        session,
        registry_copies,
        [row],
        key="patient_id",
        revision=revision_col.name,
        update=[revision_col.name, sealed_col.name, "updated_at"],
    )
    return bool(kept)


async def load(session: AsyncSession, patient_id: str) -> RowMapping | None:
    """The patient's copy (both halves, sealed), or None when the registry never told us of them."""
    stmt = select(registry_copies).where(registry_copies.c.patient_id == patient_id)
    return (await session.execute(stmt)).mappings().one_or_none()
