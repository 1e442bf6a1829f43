"""Inbox routes.

`GET /v1/notifications?recipient=` pages a recipient's notifications newest first with an
opaque cursor; `POST /v1/notifications/{id}/read` marks one read; `GET /v1/notifications/{id}`
shows its deliveries per channel and every send attempt. `GET /v1/recipients/{id}/inbox` is
the backbone's original route, kept for existing clients.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.inbox import usecases
from services.notifications.inbox.schemas import MessageOut, NotificationId, NotificationOut
from services.notifications.inbox.tables import InboxMessage
from services.notifications.recipients.schemas import RecipientId
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Page

router = APIRouter(tags=["inbox"])

ReadNotification = Annotated[
    AuditTrail, audited("notification", "read", require_scopes("notifications:read"))
]
UpdateNotification = Annotated[
    AuditTrail, audited("notification", "update", require_scopes("notifications:write"))
]
ReadInbox = Annotated[AuditTrail, audited("inbox", "read", require_scopes("notifications:read"))]


async def _named(session: AsyncSession, notification_id: NotificationId, trail: AuditTrail) -> InboxMessage:
    """The notification or 404, with the audit trail naming it and its recipient."""
    trail.resource_id = str(notification_id)
    found = await usecases.notification_or_404(session, notification_id)
    trail.patient_id = found.recipient_id
    return found


async def get_current_notification(
    notification_id: NotificationId, session: SessionDep, trail: ReadNotification
) -> InboxMessage:
    return await _named(session, notification_id, trail)


async def get_notification_to_update(
    notification_id: NotificationId, session: SessionDep, trail: UpdateNotification
) -> InboxMessage:
    return await _named(session, notification_id, trail)


CurrentNotification = Annotated[InboxMessage, Depends(get_current_notification)]
NotificationToUpdate = Annotated[InboxMessage, Depends(get_notification_to_update)]


@router.get(
    "/v1/notifications",
    response_model=CursorPage[NotificationOut],
    summary="A recipient's notifications, newest first",
)
async def list_notifications(
    recipient: Annotated[str, Query(pattern=r"^[A-Za-z0-9._:\-]{1,64}$", description="Recipient id.")],
    session: SessionDep,
    trail: ReadNotification,
    page: Page,
) -> CursorPage[NotificationOut]:
    trail.resource_id = trail.patient_id = recipient
    return await usecases.notifications_page(session, recipient, page)


@router.get(
    "/v1/notifications/{notification_id}",
    response_model=NotificationOut,
    summary="One notification with its delivery status and attempt history per channel",
)
async def get_notification(found: CurrentNotification, session: SessionDep) -> NotificationOut:
    return await usecases.notification(session, found)


@router.post(
    "/v1/notifications/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark a notification read (idempotent: the first read time stays)",
)
async def mark_read(found: NotificationToUpdate, session: SessionDep) -> NotificationOut:
    return await usecases.mark_read(session, found)


@router.get(
    "/v1/recipients/{recipient_id}/inbox",
    response_model=list[MessageOut],
    summary="A recipient's in-app messages (original route; prefer /v1/notifications)",
)
async def list_inbox(
    recipient_id: RecipientId,
    session: SessionDep,
    trail: ReadInbox,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[MessageOut]:
    trail.resource_id = trail.patient_id = recipient_id
    return await usecases.latest_messages(session, recipient_id, limit)
