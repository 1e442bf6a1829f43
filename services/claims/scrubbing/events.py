"""Events the scrubber keeps copies of: eligibility checks (another service's tables are never
read; these copies are what the coverage and prior-auth edits see)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.scrubbing import usecases
from shared.consumer import Handler
from shared.events import Event
from shared.events.catalogue import EligibilityChecked


async def on_eligibility_checked(session: AsyncSession, event: Event) -> None:
    check = event.data
    assert isinstance(check, EligibilityChecked)
    await usecases.record_eligibility(session, check)


# Keyed by topic (service.py subscribes the consumer to these).
HANDLERS: dict[str, Handler] = {"eligibility.checked": on_eligibility_checked}
