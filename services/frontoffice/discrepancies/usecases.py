"""Discrepancies: opened from eligibility.discrepancy_found, decided by staff.

Accepting applies the payer's values through the registry's own commands
(`patients.usecases.change_patient`, `coverages.usecases.change_coverage`: the ones PATCH
uses), reason payer_271, so the change has its history, its revision and its events like any
other. Field by field, as `domain` explains: a discrepancy found against an older revision is
still acceptable, and never undoes a change made after the check."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.coverages import store as coverage_store, usecases as coverages
from services.frontoffice.discrepancies import domain, store
from services.frontoffice.discrepancies.schemas import DiscrepancyAccept, DiscrepancyOut, Status
from services.frontoffice.patients import usecases as patients
from shared.events.frontoffice import DiscrepancyField, DiscrepancyFound
from shared.paging import CursorPage, DateRange, PageQuery
from shared.problems import ProblemError

PAYER_271 = "payer_271"


async def open_discrepancy(session: AsyncSession, found: DiscrepancyFound) -> bool:
    """Record what the 271 disagreed with, once per check (a redelivery finds it)."""
    now = datetime.now(UTC)
    return await store.insert(
        session,
        {
            "id": uuid.uuid4(),
            "check_id": found.check_id,
            "patient_id": found.patient_id,
            "payer_id": found.payer_id,
            "registry_revision": found.registry_revision,
            "fields": [f.model_dump(mode="json") for f in found.fields],
            "status": Status.open.value,
            "found_at": found.found_at,
            "created_at": now,
        },
    )


def describe(row: RowMapping | Any) -> DiscrepancyOut:
    return DiscrepancyOut.model_validate(dict(row))


async def get_discrepancy(
    session: AsyncSession, discrepancy_id: uuid.UUID, *, lock: bool = False
) -> RowMapping:
    row = await store.load(session, discrepancy_id, lock=lock)
    if row is None:
        raise ProblemError(
            404, "discrepancy-not-found", "Discrepancy not found", "No discrepancy with this id."
        )
    return row


async def list_discrepancies(
    session: AsyncSession, status: Status | None, patient_id: str | None, dates: DateRange, page: PageQuery
) -> CursorPage[DiscrepancyOut]:
    """One page of discrepancies recorded within `dates`, newest first."""
    rows, cursor = await store.listing(session, status.value if status else None, patient_id, dates, page)
    return CursorPage[DiscrepancyOut](items=[describe(r._mapping) for r in rows], next_cursor=cursor)


def _still_open(row: RowMapping) -> None:
    if row["status"] != Status.open.value:
        raise ProblemError(
            409,
            "discrepancy-decided",
            "Discrepancy already decided",
            f"It was {row['status']}; nothing changed.",
        )


async def accept(
    session: AsyncSession, row: RowMapping, body: DiscrepancyAccept, actor: str
) -> DiscrepancyOut:
    """Apply the payer's values (chosen fields) still standing; record each field's outcome."""
    _still_open(row)
    patient_id = row["patient_id"]
    patient = await patients.lock_for_change(session, patient_id, None)
    members = {r["coverage_id"]: r["member_id"] for r in await coverage_store.of_patient(session, patient_id)}
    note = f"discrepancy {row['id']}" + (f": {body.note}" if body.note else "")
    fields = [DiscrepancyField.model_validate(f) for f in row["fields"]]
    plan = domain.plan(fields, body.fields, patient["demographics"], members)
    demographic, member_ids = plan.demographics, plan.member_ids
    revision = None
    if demographic:
        out, _ = await patients.change_patient(
            session, patient_id, demographic, reason=PAYER_271, note=note, actor=actor, expected_revision=None
        )
        revision = out.revision
    for coverage_id, member_id in member_ids.items():
        changed = await coverages.change_coverage(
            session,
            patient_id,
            coverage_id,
            {"member_id": member_id},
            reason=PAYER_271,
            note=note,
            actor=actor,
            expected_revision=None,
        )
        revision = changed.revision
    await store.decide(
        session,
        row["id"],
        {
            "status": Status.accepted.value,
            "decided_by": actor,
            "decided_at": datetime.now(UTC),
            "note": body.note,
            "outcome": {k: v.value for k, v in plan.outcome.items()},
            "applied_revision": revision,
        },
    )
    return describe(await get_discrepancy(session, row["id"]))


async def reject(session: AsyncSession, row: RowMapping, note: str, actor: str) -> DiscrepancyOut:
    """The registry is right: the discrepancy is closed with why; nothing else changes."""
    _still_open(row)
    await store.decide(
        session,
        row["id"],
        {"status": Status.rejected.value, "decided_by": actor, "decided_at": datetime.now(UTC), "note": note},
    )
    return describe(await get_discrepancy(session, row["id"]))
