"""Opening an application, recording its documents, deciding and approving it.

Every change and the events it causes (the hold, its release, the approval) are written in
the caller's transaction through the outbox: a rolled-back decision publishes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.applications import domain, store
from services.frontoffice.applications.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApprovalIn,
    DecisionIn,
    DocumentIn,
    DocumentOut,
)
from services.frontoffice.applications.tables import Application, ApplicationDocument
from services.frontoffice.assistance import store as assistance
from shared.events.envelope import new_event
from shared.outbox import add_event
from shared.problems import ProblemError, invalid


async def open_application(session: AsyncSession, body: ApplicationIn, actor: str) -> Application:
    """A new open application from a screening; the account is held from collections."""
    screening = await assistance.get_screening(session, body.screening_id)
    if screening is None:
        raise invalid(("body.screening_id", "exists", "Screen the household first and name that screening."))
    if screening.patient_id is not None and screening.patient_id != body.patient_id:
        raise invalid(("body.screening_id", "same_patient", "The screening is another patient's."))
    now = datetime.now(UTC)
    app = Application(
        id=uuid.uuid4(),
        patient_id=body.patient_id,
        account_id=body.account_id or body.patient_id,
        screening_id=body.screening_id,
        status="open",
        hold_id=uuid.uuid4(),
        created_by=actor,
        created_at=now,
    )
    await store.add(session, app)
    add_event(session, new_event(domain.hold_placed(app, now)))
    return app


async def get(session: AsyncSession, application_id: uuid.UUID, *, lock: bool = False) -> Application | None:
    """One application, or None."""
    return await store.get(session, application_id, lock=lock)


async def add_document(
    session: AsyncSession, app: Application, body: DocumentIn, actor: str
) -> ApplicationDocument:
    """Record a document received while the application is open."""
    domain.check_open(app)
    row = ApplicationDocument(
        id=uuid.uuid4(),
        application_id=app.id,
        kind=body.kind,
        received_date=body.received_date,
        note=body.note,
        recorded_by=actor,
        recorded_at=datetime.now(UTC),
    )
    await store.add(session, row)
    return row


async def decide(session: AsyncSession, app: Application, body: DecisionIn, actor: str) -> None:
    """One person's decision; it waits for a second person. Approving needs a document."""
    domain.check_open(app)
    if body.decision == "approve":
        if await store.document_count(session, app.id) == 0:
            raise domain.conflict(
                "documents-missing",
                "No document has been received",
                "documents",
                "at_least_one",
                "Record the income documents (or an attestation) before approving.",
            )
        screening = await assistance.get_screening(session, app.screening_id)
        policy = await assistance.get_policy(session, screening.policy_id) if screening else None
        assert screening is not None and policy is not None  # foreign keys
        app.tier, app.discount_percent = domain.decided_tier(
            policy.tiers, screening.tier, body.tier, body.note
        )
    elif body.tier is not None:
        raise invalid(("body.tier", "deny_without_tier", "A denial names no tier."))
    else:
        app.tier, app.discount_percent = None, None
    app.decision = body.decision
    app.decision_note = body.note
    app.decided_by = actor
    app.decided_at = datetime.now(UTC)
    app.status = "decided"
    await session.flush()


async def approve(session: AsyncSession, app: Application, body: ApprovalIn, actor: str) -> None:
    """The second person: confirm the decision (final; the hold is released and an approval
    published) or send it back (open again, the hold stays)."""
    domain.check_approvable(app, actor)
    now = datetime.now(UTC)
    if not body.approve:
        app.status, app.decision, app.tier, app.discount_percent = "open", None, None, None
        app.decided_by, app.decided_at, app.approval_note = None, None, body.note
        await session.flush()
        return
    app.status = "approved" if app.decision == "approve" else "denied"
    app.approved_by, app.approved_at, app.approval_note = actor, now, body.note
    await session.flush()
    if app.status == "approved":
        screening = await assistance.get_screening(session, app.screening_id)
        assert screening is not None  # a foreign key
        add_event(
            session, new_event(domain.approved(app, screening.poverty_percent, screening.guidelines_year))
        )
    add_event(session, new_event(domain.hold_released(app, now)))


async def application_out(session: AsyncSession, app: Application) -> ApplicationOut:
    """An application with its documents."""
    docs = [
        DocumentOut.model_validate(d, from_attributes=True) for d in await store.documents(session, app.id)
    ]
    out = ApplicationOut.model_validate(app, from_attributes=True)
    out.documents = docs
    return out


def not_found() -> ProblemError:
    """The 404 for an unknown application."""
    return ProblemError(404, "not-found", "Application not found")
