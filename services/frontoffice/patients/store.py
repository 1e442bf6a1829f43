"""All of the patient registry's SQL: patients, the shared revision counter, the history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.coverages.tables import coverages
from services.frontoffice.patients.schemas import PatientSearch
from services.frontoffice.patients.tables import patient_history, patients
from shared.bulk import insert_many
from shared.paging import DateRange, PageQuery, paginate


async def insert_patient(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Insert a new patient; False when the id is on file already (nothing written)."""
    stmt = insert(patients).values(**row).on_conflict_do_nothing(index_elements=["patient_id"])
    result = await session.execute(stmt.returning(patients.c.patient_id))
    return result.first() is not None


async def load(session: AsyncSession, patient_id: str, *, lock: bool = False) -> RowMapping | None:
    """The patient's row; `lock` takes it FOR UPDATE: every change to a patient or its
    coverages holds this lock, which orders revisions and the coverage rules' checks."""
    stmt = select(patients).where(patients.c.patient_id == patient_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).mappings().first()


async def save(
    session: AsyncSession,
    patient_id: str,
    demographics: dict[str, Any],
    guarantor: dict[str, Any],
    at: datetime,
) -> int:
    """Write the new record and take the next revision; returns it."""
    stmt = (
        update(patients)
        .where(patients.c.patient_id == patient_id)
        .values(
            demographics=demographics,
            guarantor=guarantor,
            first_name=demographics["first_name"],
            last_name=demographics["last_name"],
            birth_date=date.fromisoformat(demographics["birth_date"]),
            revision=patients.c.revision + 1,
            updated_at=at,
        )
        .returning(patients.c.revision)
    )
    return int((await session.execute(stmt)).scalar_one())


async def next_revision(session: AsyncSession, patient_id: str, at: datetime) -> int:
    """Take the next revision of the patient for a coverage change (the counter is shared)."""
    stmt = (
        update(patients)
        .where(patients.c.patient_id == patient_id)
        .values(revision=patients.c.revision + 1, updated_at=at)
        .returning(patients.c.revision)
    )
    return int((await session.execute(stmt)).scalar_one())


async def add_history(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Append history entries (the table refuses updates and deletes)."""
    await insert_many(session, patient_history, rows)


async def search(
    session: AsyncSession, filters: PatientSearch, dates: DateRange, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """Patients matching every given filter, registered within `dates`, newest first."""
    stmt = dates.apply(select(patients), patients.c.created_at)
    if filters.last_name:
        like = filters.last_name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(patients.c.last_name).like(f"{like}%"))
    if filters.first_name:
        stmt = stmt.where(func.lower(patients.c.first_name) == filters.first_name.lower())
    if filters.birth_date:
        stmt = stmt.where(patients.c.birth_date == filters.birth_date)
    if filters.phone:
        stmt = stmt.where(patients.c.demographics["phone"].astext == filters.phone)
    if filters.member_id:
        held = select(coverages.c.patient_id).where(
            func.upper(coverages.c.member_id) == filters.member_id.upper()
        )
        stmt = stmt.where(patients.c.patient_id.in_(held))
    return await paginate(session, stmt, page, patients.c.created_at, patients.c.id)


async def history(
    session: AsyncSession, patient_id: str, dates: DateRange, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """The patient's changes within `dates`, newest first."""
    stmt = select(patient_history).where(patient_history.c.patient_id == patient_id)
    stmt = dates.apply(stmt, patient_history.c.changed_at)
    return await paginate(
        session,
        stmt,
        page,
        patient_history.c.changed_at,
        patient_history.c.id,
        key=lambda row: (row.changed_at, row.id),
    )


async def contacts(session: AsyncSession, patient_ids: Sequence[str]) -> Sequence[Any]:
    """Name, phone, email and address of the given patients (only those columns and keys are
    read: the birth date and the rest of the demographics stay in the table)."""
    demographics = patients.c.demographics
    stmt = select(
        patients.c.patient_id,
        patients.c.first_name,
        patients.c.last_name,
        demographics["phone"].astext.label("phone"),
        demographics["email"].astext.label("email"),
        demographics["address"].label("address"),
    ).where(patients.c.patient_id.in_(list(patient_ids)))
    return (await session.execute(stmt)).all()
