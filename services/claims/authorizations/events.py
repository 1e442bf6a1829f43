"""authorization.recorded: eligibility's authorizations, copied for the scrubber and the 837P
(another service's tables are never read)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.authorizations import usecases
from shared.consumer import Handler
from shared.events import Event
from shared.events.catalogue import AuthorizationRecorded


async def on_authorization_recorded(session: AsyncSession, event: Event) -> None:
    auth = event.data
    assert isinstance(auth, AuthorizationRecorded)
    await usecases.record_authorization(session, auth)


# Keyed by topic (service.py subscribes the consumer to these).
HANDLERS: dict[str, Handler] = {"authorization.recorded": on_authorization_recorded}
