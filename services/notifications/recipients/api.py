"""Directory routes: PUT/GET a recipient, PUT/GET their preferences. Reads and writes are
audited (contact details are PHI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.notifications.recipients import usecases
from services.notifications.recipients.schemas import (
    PreferencesIn,
    PreferencesOut,
    RecipientId,
    RecipientIn,
    RecipientOut,
)
from services.notifications.recipients.tables import Recipient
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(prefix="/v1/recipients", tags=["recipients"])

ReadRecipient = Annotated[AuditTrail, audited("recipient", "read", require_scopes("notifications:read"))]
WriteRecipient = Annotated[AuditTrail, audited("recipient", "update", require_scopes("notifications:write"))]
ReadPreferences = Annotated[AuditTrail, audited("preferences", "read", require_scopes("notifications:read"))]
WritePreferences = Annotated[
    AuditTrail, audited("preferences", "update", require_scopes("notifications:write"))
]


def _name(trail: AuditTrail, recipient: Recipient) -> Recipient:
    """The trail names the recipient as the patient when it is one (staff are not patients)."""
    if recipient.kind == "patient":
        trail.patient_id = recipient.id
    return recipient


async def get_current_recipient(
    recipient_id: RecipientId, session: SessionDep, trail: ReadRecipient
) -> Recipient:
    """The recipient, or 404."""
    trail.resource_id = recipient_id
    return _name(trail, await usecases.recipient_or_404(session, recipient_id))


async def get_preferences_reader(
    recipient_id: RecipientId, session: SessionDep, trail: ReadPreferences
) -> Recipient:
    """Whose preferences are read (422 naming the path when unknown)."""
    trail.resource_id = recipient_id
    return _name(trail, await usecases.known_recipient(session, recipient_id))


async def get_preferences_writer(
    recipient_id: RecipientId, session: SessionDep, trail: WritePreferences
) -> Recipient:
    """Whose preferences are replaced (422 naming the path when unknown)."""
    trail.resource_id = recipient_id
    return _name(trail, await usecases.known_recipient(session, recipient_id))


CurrentRecipient = Annotated[Recipient, Depends(get_current_recipient)]
PreferencesOwner = Annotated[Recipient, Depends(get_preferences_reader)]
PreferencesOwnerForUpdate = Annotated[Recipient, Depends(get_preferences_writer)]


def _out(r: Recipient) -> RecipientOut:
    return RecipientOut.model_validate(r, from_attributes=True)


@router.put("/{recipient_id}", response_model=RecipientOut, summary="Create or replace a recipient")
async def put_recipient(
    recipient_id: RecipientId, body: RecipientIn, session: SessionDep, trail: WriteRecipient
) -> RecipientOut:
    trail.resource_id = recipient_id
    if body.kind == "patient":
        trail.patient_id = recipient_id
    return _out(await usecases.put_recipient(session, recipient_id, body))


@router.get("/{recipient_id}", response_model=RecipientOut, summary="A recipient's directory entry")
async def get_recipient(recipient: CurrentRecipient) -> RecipientOut:
    return _out(recipient)


@router.put(
    "/{recipient_id}/preferences", response_model=PreferencesOut, summary="Replace a recipient's preferences"
)
async def put_preferences(
    body: PreferencesIn, recipient: PreferencesOwnerForUpdate, session: SessionDep
) -> PreferencesOut:
    await usecases.replace_preferences(session, recipient, body)
    return PreferencesOut(recipient_id=recipient.id, rules=body.rules)


@router.get("/{recipient_id}/preferences", response_model=PreferencesOut, summary="A recipient's preferences")
async def get_preferences(recipient: PreferencesOwner, session: SessionDep) -> PreferencesOut:
    return PreferencesOut(
        recipient_id=recipient.id, rules=await usecases.preference_rules(session, recipient.id)
    )
