"""The in-app inbox: receipts and other messages a recipient reads after signing in.

Texts carry no protected health information: an amount, a date and a receipt number,
never a diagnosis, a member id or a name.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.models import InboxMessage
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.events import Event, new_event
from shared.events.catalogue import NotificationSent, PaymentPosted
from shared.outbox import add_event

SOURCE = "/services/notifications"
RECEIPT_TEMPLATE = ("payment_receipt", 1)


async def on_payment_posted(session: AsyncSession, event: Event) -> None:
    """A patient payment gets a receipt in the account holder's inbox (once per event)."""
    payment = event.data
    assert isinstance(payment, PaymentPosted)
    if payment.source != "patient" or payment.account_id is None:
        return
    template, version = RECEIPT_TEMPLATE
    message = InboxMessage(
        id=uuid.uuid4(),
        recipient_id=payment.account_id,
        template=template,
        template_version=version,
        subject="Payment received",
        body=f"We received your payment of ${payment.amount:,.2f} on {payment.posted_at:%Y-%m-%d}"
        + (f", receipt {payment.receipt_number}" if payment.receipt_number else "")
        + ". Thank you.",
        cause_event_id=event.id,
        created_at=datetime.now(UTC),
    )
    session.add(message)
    add_event(
        session,
        new_event(
            NotificationSent(
                notification_id=message.id,
                recipient_id=message.recipient_id,
                channel="inbox",
                template=template,
                template_version=version,
                cause_event_id=event.id,
                sent_at=message.created_at,
            ),
            source=SOURCE,
        ),
    )


class MessageOut(BaseModel):
    id: uuid.UUID
    template: str
    template_version: int
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None


router = APIRouter(prefix="/v1/recipients", tags=["inbox"])


@router.get("/{recipient_id}/inbox", response_model=list[MessageOut], summary="A recipient's in-app messages")
async def list_inbox(
    recipient_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")],
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
