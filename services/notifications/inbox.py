"""The in-app inbox and each notification's history.

`GET /v1/notifications?recipient=` pages a recipient's notifications newest first with an
opaque cursor; `POST /v1/notifications/{id}/read` marks one read; `GET /v1/notifications/{id}`
shows its deliveries per channel and every send attempt. `GET /v1/recipients/{id}/inbox` is
the backbone's original route, kept for existing clients.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from sqlalchemy import tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.models import Delivery, DeliveryAttempt, InboxMessage, Recipient
from services.notifications.recipients import RecipientId
from shared import cursor as cursor_of
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import ProblemError, invalid


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    outcome: str
    error: str | None


class DeliveryOut(BaseModel):
    channel: str
    status: str
    reason: str | None
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    history: list[AttemptOut] | None = None


class NotificationOut(BaseModel):
    id: uuid.UUID
    recipient_id: str
    category: str | None
    required: bool
    template: str
    template_version: int
    subject: str
    body: str
    cause_event_id: uuid.UUID
    cause_event_type: str | None
    created_at: datetime
    read_at: datetime | None
    deliveries: list[DeliveryOut]


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class MessageOut(BaseModel):
    id: uuid.UUID
    template: str
    template_version: int
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None


def _parse_cursor(value: str) -> tuple[datetime, uuid.UUID]:
    try:
        return cursor_of.decode(value)
    except ValueError as exc:
        raise invalid(("query.cursor", "invalid_cursor", "Use next_cursor as given.")) from exc


async def _deliveries(
    session: AsyncSession, ids: list[uuid.UUID], with_history: bool = False
) -> dict[uuid.UUID, list[DeliveryOut]]:
    rows = (
        await session.exec(
            select(Delivery).where(col(Delivery.notification_id).in_(ids)).order_by(col(Delivery.channel))
        )
    ).all()
    history: dict[uuid.UUID, list[AttemptOut]] = {}
    if with_history and rows:
        attempts = await session.exec(
            select(DeliveryAttempt)
            .where(col(DeliveryAttempt.delivery_id).in_([d.id for d in rows]))
            .order_by(col(DeliveryAttempt.delivery_id), col(DeliveryAttempt.attempt))
        )
        for a in attempts:
            history.setdefault(a.delivery_id, []).append(AttemptOut.model_validate(a, from_attributes=True))
    result: dict[uuid.UUID, list[DeliveryOut]] = {}
    for d in rows:
        out = DeliveryOut.model_validate(d, from_attributes=True)
        if d.status != "pending":
            out.next_attempt_at = None
        if with_history:
            out.history = history.get(d.id, [])
        result.setdefault(d.notification_id, []).append(out)
    return result


def _out(m: InboxMessage, deliveries: dict[uuid.UUID, list[DeliveryOut]]) -> NotificationOut:
    return NotificationOut.model_validate({**m.model_dump(), "deliveries": deliveries.get(m.id, [])})


router = APIRouter(tags=["inbox"])


@router.get(
    "/v1/notifications", response_model=NotificationPage, summary="A recipient's notifications, newest first"
)
async def list_notifications(
    recipient: Annotated[str, Query(pattern=r"^[A-Za-z0-9._:\-]{1,64}$", description="Recipient id.")],
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("notification", "read", require_scopes("notifications:read"))],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    trail.resource_id = trail.patient_id = recipient
    query = select(InboxMessage).where(InboxMessage.recipient_id == recipient)
    if cursor:
        query = query.where(
            tuple_(col(InboxMessage.created_at), col(InboxMessage.id)) < tuple_(*_parse_cursor(cursor))
        )
    rows = (
        await session.exec(
            query.order_by(col(InboxMessage.created_at).desc(), col(InboxMessage.id).desc()).limit(limit + 1)
        )
    ).all()
    if not rows and cursor is None and await session.get(Recipient, recipient) is None:
        raise invalid(("query.recipient", "unknown_recipient", "No such recipient."))
    page = list(rows[:limit])
    deliveries = await _deliveries(session, [m.id for m in page])
    return NotificationPage(
        items=[_out(m, deliveries) for m in page],
        next_cursor=cursor_of.encode(page[-1].created_at, page[-1].id) if len(rows) > limit else None,
    )


NotificationId = Annotated[uuid.UUID, Path(description="Notification id.")]


async def _notification(session: AsyncSession, notification_id: uuid.UUID, trail: AuditTrail) -> InboxMessage:
    """The notification, with the audit trail naming it and its recipient."""
    trail.resource_id = str(notification_id)
    found = await session.get(InboxMessage, notification_id)
    if found is None:
        raise ProblemError(404, "not-found", "Not found", "No such notification.")
    trail.patient_id = found.recipient_id
    return found


@router.get(
    "/v1/notifications/{notification_id}",
    response_model=NotificationOut,
    summary="One notification with its delivery status and attempt history per channel",
)
async def get_notification(
    notification_id: NotificationId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("notification", "read", require_scopes("notifications:read"))],
) -> NotificationOut:
    found = await _notification(session, notification_id, trail)
    return _out(found, await _deliveries(session, [found.id], with_history=True))


@router.post(
    "/v1/notifications/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark a notification read (idempotent: the first read time stays)",
)
async def mark_read(
    notification_id: NotificationId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("notification", "update", require_scopes("notifications:write"))],
) -> NotificationOut:
    found = await _notification(session, notification_id, trail)
    if found.read_at is None:
        found.read_at = datetime.now(UTC)
        session.add(found)
        await session.commit()
    return _out(found, await _deliveries(session, [found.id]))


@router.get(
    "/v1/recipients/{recipient_id}/inbox",
    response_model=list[MessageOut],
    summary="A recipient's in-app messages (original route; prefer /v1/notifications)",
)
async def list_inbox(
    recipient_id: RecipientId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("inbox", "read", require_scopes("notifications:read"))],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[MessageOut]:
    trail.resource_id = trail.patient_id = recipient_id
    rows = (
        await session.exec(
            select(InboxMessage)
            .where(InboxMessage.recipient_id == recipient_id)
            .order_by(col(InboxMessage.created_at).desc())
            .limit(limit)
        )
    ).all()
    return [MessageOut.model_validate(r, from_attributes=True) for r in rows]
