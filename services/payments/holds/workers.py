"""The held sets' stuck-work probes (shared.stuckwork): 835 transaction sets that wait for a
person, a conflict for review or a set whose payer must be registered or mapped."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.intake import store as intake
from services.payments.intake.domain import CONFLICT, PAYER_NEEDED
from shared.stuckwork import Probe


async def _reviews(session: AsyncSession) -> tuple[int, float | None]:
    return await intake.held_count(session, CONFLICT)


async def _payer_needed(session: AsyncSession) -> tuple[int, float | None]:
    return await intake.held_count(session, PAYER_NEEDED)


# Nothing of a held set is posted until someone decides: the payer's money is not on any
# account meanwhile. A day's wait warns (STUCK_WORK_THRESHOLDS changes it).
PROBES = [
    Probe("payments:remittance-reviews", _reviews, warn_count=None, warn_age_seconds=86400.0, unit="sets"),
    Probe("payments:payer-needed", _payer_needed, warn_count=None, warn_age_seconds=86400.0, unit="sets"),
]
