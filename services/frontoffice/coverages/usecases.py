"""A patient's coverages: list, add, change, reorder. Every change goes through `_apply`:
under the patient's lock, the rules checked on the whole list after the change, the next
revision of the patient, one history entry per coverage changed, and coverage.updated with
the whole ordered list and the classified changes. Callers hold the transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.coverages import domain, store
from services.frontoffice.coverages.schemas import (
    CoverageChangeOut,
    CoverageIn,
    CoverageList,
    OrderAssignment,
)
from services.frontoffice.patients import usecases as patients
from shared.events.envelope import new_event
from shared.events.frontoffice import CoverageChange, CoverageUpdated, RegisteredCoverage
from shared.outbox import add_event
from shared.problems import FieldError, ProblemError, field_errors


async def list_coverages(session: AsyncSession, patient_id: str) -> CoverageList:
    """The patient's coverages in order, with the patient's revision."""
    patient = await patients.get_patient(session, patient_id)
    on_file = [domain.from_row(r) for r in await store.of_patient(session, patient_id)]
    return CoverageList(
        patient_id=patient_id, revision=patient["revision"], coverages=domain.in_order(on_file)
    )


async def add_coverage(
    session: AsyncSession, patient_id: str, body: CoverageIn, *, actor: str, expected_revision: int | None
) -> CoverageChangeOut:
    """A new coverage (change kind `added`)."""
    await patients.lock_for_change(session, patient_id, expected_revision)
    on_file = [domain.from_row(r) for r in await store.of_patient(session, patient_id)]
    new = RegisteredCoverage.model_validate(
        {"coverage_id": uuid.uuid4(), **body.model_dump(exclude={"reason", "note"})}
    )
    domain.check_rules([*on_file, new], field="body.order")
    change = CoverageChange(coverage_id=new.coverage_id, payer_id=new.payer_id, kind="added")
    return await _apply(
        session, patient_id, on_file, {new.coverage_id: new}, [change], body.reason.value, body.note, actor
    )


async def change_coverage(
    session: AsyncSession,
    patient_id: str,
    coverage_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    reason: str,
    note: str | None,
    actor: str,
    expected_revision: int | None,
) -> CoverageChangeOut:
    """THE way a coverage's fields change (a PATCH, a payer's member id accepted from a
    discrepancy): `changes` holds only the fields to change (python values)."""
    await patients.lock_for_change(session, patient_id, expected_revision)
    on_file = [domain.from_row(r) for r in await store.of_patient(session, patient_id)]
    current = next((c for c in on_file if c.coverage_id == coverage_id), None)
    if current is None:
        raise ProblemError(
            404, "coverage-not-found", "Coverage not found", "The patient holds no coverage with this id."
        )
    try:
        after = RegisteredCoverage.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise ProblemError(
            422, "validation-error", "The request is not valid", errors=field_errors(errors)
        ) from None
    others = [c for c in on_file if c.coverage_id != coverage_id]
    domain.check_rules([*others, after], field="body.termination_date")
    kinds = domain.classify(current, after, datetime.now(UTC).date())
    return await _apply(session, patient_id, on_file, {coverage_id: after}, kinds, reason, note, actor)


async def reorder(
    session: AsyncSession,
    patient_id: str,
    assignments: list[OrderAssignment],
    *,
    reason: str,
    note: str | None,
    actor: str,
    expected_revision: int | None,
) -> CoverageChangeOut:
    """New orders for some coverages at once (a swap never passes through two primaries)."""
    await patients.lock_for_change(session, patient_id, expected_revision)
    on_file = [domain.from_row(r) for r in await store.of_patient(session, patient_id)]
    by_id = {c.coverage_id: c for c in on_file}
    unknown = [i for i, a in enumerate(assignments) if a.coverage_id not in by_id]
    if unknown or len({a.coverage_id for a in assignments}) != len(assignments):
        raise ProblemError(
            422,
            "validation-error",
            "The request is not valid",
            errors=[
                FieldError(
                    field=f"body.assignments.{unknown[0] if unknown else 0}.coverage_id",
                    rule="known_once",
                    message="Name each of the patient's coverages at most once.",
                )
            ],
        )
    moved = {a.coverage_id: by_id[a.coverage_id].model_copy(update={"order": a.order}) for a in assignments}
    after_list = [moved.get(c.coverage_id, c) for c in on_file]
    domain.check_rules(after_list, field="body.assignments")
    today = datetime.now(UTC).date()
    kinds = [k for cid, new in moved.items() for k in domain.classify(by_id[cid], new, today)]
    return await _apply(session, patient_id, on_file, moved, kinds, reason, note, actor)


async def _apply(
    session: AsyncSession,
    patient_id: str,
    on_file: list[RegisteredCoverage],
    changed: dict[uuid.UUID, RegisteredCoverage],
    kinds: list[CoverageChange],
    reason: str,
    note: str | None,
    actor: str,
) -> CoverageChangeOut:
    """Write the changed coverages, history and coverage.updated under the next revision; a
    change that changes nothing takes no revision and publishes nothing."""
    before = {c.coverage_id: c for c in on_file}
    if not kinds:
        listed = await list_coverages(session, patient_id)
        return CoverageChangeOut(**listed.model_dump(), changes=[])
    revision, now = await patients.next_revision(session, patient_id)
    changed = {cid: c for cid, c in changed.items() if any(k.coverage_id == cid for k in kinds)}
    for cid, new in changed.items():
        old = before.get(cid)
        if old is None:
            await store.insert(session, patient_id, domain.to_row(new), now)
            fields, old_values = sorted(new.model_dump(mode="json")), None
        else:
            await store.save(session, cid, domain.to_row(new), now)
            fields = domain.changed_fields(old, new)
            old_values = {f: old.model_dump(mode="json")[f] for f in fields}
        new_values = {f: new.model_dump(mode="json")[f] for f in fields}
        kind = ",".join(k.kind for k in kinds if k.coverage_id == cid)
        await patients.record(
            session,
            patient_id,
            revision,
            kind,
            reason,
            note,
            fields,
            old_values,
            new_values,
            actor,
            now,
            entity="coverage",
            coverage_id=cid,
        )
    listed = domain.in_order(
        [changed.get(c.coverage_id, c) for c in on_file]
        + [c for c in changed.values() if c.coverage_id not in before]
    )
    payload = CoverageUpdated(
        patient_id=patient_id,
        revision=revision,
        coverages=listed,
        changes=kinds,
        reason=reason,
        changed_by=actor,
        changed_at=now,
    )
    add_event(session, new_event(payload))
    return CoverageChangeOut(patient_id=patient_id, revision=revision, coverages=listed, changes=kinds)
