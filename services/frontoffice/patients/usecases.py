"""The patient registry's commands and reads, the same for the API and the event handlers.

`change_patient` is THE way a patient's record changes: a PATCH from staff and a payer's
value accepted from a discrepancy both go through it, so both keep history, take a revision
and publish patient.updated the same way. Callers hold the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.patients import domain, store
from services.frontoffice.patients.schemas import (
    HistoryEntry,
    PatientContact,
    PatientIn,
    PatientOut,
    PatientSearch,
    PatientSummary,
)
from shared.events.envelope import new_event
from shared.events.frontoffice import PatientUpdated
from shared.outbox import add_event
from shared.paging import CursorPage, DateRange, PageQuery
from shared.problems import FieldError, ProblemError

REGISTRATION = "registration"


def not_found() -> ProblemError:
    """The 404 of a patient id nobody registered (the id is the caller's own, not echoed)."""
    return ProblemError(
        404, "patient-not-found", "Patient not found", "No patient with this id is registered."
    )


async def get_patient(session: AsyncSession, patient_id: str, *, lock: bool = False) -> RowMapping:
    """The patient's row, or a 404 problem."""
    row = await store.load(session, patient_id, lock=lock)
    if row is None:
        raise not_found()
    return row


def describe(row: RowMapping) -> PatientOut:
    """The API's view of a patient row."""
    return PatientOut.model_validate(
        {
            "patient_id": row["patient_id"],
            "revision": row["revision"],
            "patient": row["demographics"],
            "guarantor": row["guarantor"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
    )


async def register(session: AsyncSession, body: PatientIn, actor: str) -> PatientOut:
    """A new patient at revision 1: history entry `registered`, patient.updated (reason
    registration). A patient id on file already is a 409 (its record is not touched)."""
    now = datetime.now(UTC)
    demographics, guarantor = domain.merged(
        {}, {}, body.patient.model_dump(mode="json") | {"guarantor": body.guarantor.model_dump(mode="json")}
    )
    row = {
        "patient_id": body.patient_id,
        "id": uuid.uuid4(),
        "revision": 1,
        "first_name": demographics["first_name"],
        "last_name": demographics["last_name"],
        "birth_date": body.patient.birth_date,
        "demographics": demographics,
        "guarantor": guarantor,
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
    }
    if not await store.insert_patient(session, row):
        raise ProblemError(
            409,
            "patient-exists",
            "Patient already registered",
            "A patient with this id is on file; read it and PATCH what changed.",
            errors=[FieldError(field="body.patient_id", rule="unique", message="Use the patient on file.")],
        )
    after = {"patient": demographics, "guarantor": guarantor}
    await record(
        session, body.patient_id, 1, "registered", REGISTRATION, body.note, [], None, after, actor, now
    )
    publish(session, body.patient_id, 1, demographics, guarantor, [], REGISTRATION, actor, now)
    return describe({**row})


async def change_patient(
    session: AsyncSession,
    patient_id: str,
    changes: dict[str, Any],
    *,
    reason: str,
    note: str | None,
    actor: str,
    expected_revision: int | None,
) -> tuple[PatientOut, list[str]]:
    """Apply `changes` (JSON form, only the fields to change; `guarantor` whole) to the patient:
    412 when `expected_revision` is not the current one, a new revision, a history entry with
    before/after of the changed fields, and patient.updated in the same transaction. A change
    that changes nothing takes no revision and publishes nothing. Returns the patient and the
    fields that changed."""
    current = await lock_for_change(session, patient_id, expected_revision)
    before = {**current["demographics"], "guarantor": current["guarantor"]}
    demographics, guarantor = domain.merged(current["demographics"], current["guarantor"], changes)
    after = {**demographics, "guarantor": guarantor}
    fields = domain.changed_fields(before, after)
    if not fields:
        return describe(current), []
    now = datetime.now(UTC)
    revision = await store.save(session, patient_id, demographics, guarantor, now)
    await record(
        session,
        patient_id,
        revision,
        "updated",
        reason,
        note,
        fields,
        {f: before.get(f) for f in fields},
        {f: after.get(f) for f in fields},
        actor,
        now,
    )
    publish(session, patient_id, revision, demographics, guarantor, fields, reason, actor, now)
    return describe(await get_patient(session, patient_id)), fields


async def record(
    session: AsyncSession,
    patient_id: str,
    revision: int,
    kind: str,
    reason: str,
    note: str | None,
    fields: list[str],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actor: str,
    at: datetime,
    *,
    entity: str = "patient",
    coverage_id: uuid.UUID | None = None,
) -> None:
    """One history entry (PHI: before/after stay in this schema; never logged)."""
    await store.add_history(
        session,
        [
            {
                "patient_id": patient_id,
                "revision": revision,
                "entity": entity,
                "coverage_id": coverage_id,
                "kind": kind,
                "reason": reason,
                "note": note,
                "fields": fields,
                "before": before,
                "after": after,
                "changed_by": actor,
                "changed_at": at,
            }
        ],
    )


def publish(
    session: AsyncSession,
    patient_id: str,
    revision: int,
    demographics: dict[str, Any],
    guarantor: dict[str, Any],
    fields: list[str],
    reason: str,
    actor: str,
    at: datetime,
) -> None:
    """patient.updated with the whole record, through the outbox (commits with the change)."""
    payload = PatientUpdated(
        patient_id=patient_id,
        revision=revision,
        patient=demographics,  # type: ignore[arg-type]
        guarantor=guarantor,  # type: ignore[arg-type]
        changed_fields=fields,
        reason=reason,
        changed_by=actor,
        changed_at=at,
    )
    add_event(session, new_event(payload))


async def lock_for_change(
    session: AsyncSession, patient_id: str, expected_revision: int | None
) -> RowMapping:
    """Before changing a patient's coverages: lock the patient (the lock every change to the
    patient holds), 404 when unknown, 412 when `expected_revision` is stale."""
    current = await get_patient(session, patient_id, lock=True)
    problem = domain.stale(expected_revision, current["revision"])
    if problem is not None:
        raise problem
    return current


async def next_revision(session: AsyncSession, patient_id: str) -> tuple[int, datetime]:
    """The patient's next revision for a coverage change (one counter for both events), and
    the moment of the change. Call under lock_for_change."""
    now = datetime.now(UTC)
    return await store.next_revision(session, patient_id, now), now


async def search(
    session: AsyncSession, filters: PatientSearch, dates: DateRange, page: PageQuery
) -> CursorPage[PatientSummary]:
    """One page of matching patients registered within `dates`."""
    rows, cursor = await store.search(session, filters, dates, page)
    items = [PatientSummary.model_validate(dict(r._mapping)) for r in rows]
    return CursorPage[PatientSummary](items=items, next_cursor=cursor)


async def history(
    session: AsyncSession, patient_id: str, dates: DateRange, page: PageQuery
) -> CursorPage[HistoryEntry]:
    """One page of the patient's history changed within `dates`, newest first."""
    rows: Sequence[Any]
    rows, cursor = await store.history(session, patient_id, dates, page)
    items = [
        HistoryEntry.model_validate(
            {**r._mapping, "coverage_id": str(r.coverage_id) if r.coverage_id else None}
        )
        for r in rows
    ]
    return CursorPage[HistoryEntry](items=items, next_cursor=cursor)


async def contacts(session: AsyncSession, patient_ids: Sequence[str]) -> dict[str, PatientContact]:
    """Contact details of the given patients that are in the registry, by patient id."""
    if not patient_ids:
        return {}
    rows = await store.contacts(session, sorted(set(patient_ids)))
    return {r.patient_id: PatientContact.model_validate(dict(r._mapping)) for r in rows}
