"""The follow-up worker: every minute, one round of publish_due on every replica; and the
claims' stuck-work probes (shared.stuckwork): claims the payer has not answered in time."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims.domain import now as clock
from services.claims.followups import store
from services.claims.followups.usecases import publish_due
from services.claims.settings import get_claims_settings
from shared.app import Worker
from shared.db import Database
from shared.stuckwork import Probe


async def step(app: FastAPI, now: datetime | None = None) -> int:
    """One round in its own transaction; `now` lets tests look a month ahead."""
    db: Database = app.state.db
    async with db.session() as session, session.begin():
        return await publish_due(session, now or clock())


WORKERS = [Worker("followups", step, every_seconds=60.0)]


async def _unanswered(session: AsyncSession) -> tuple[int, float | None]:
    return await store.unanswered_since(session, get_claims_settings().stuck_submitted_hours)


# Rules, so an operator knows why a claim is counted (docs/runbook-stuck-work.md):
# - submitted-no-277ca: sent, and neither accepted nor rejected by a 277CA after
#   CLAIMS_STUCK_SUBMITTED_HOURS (48 h): a clearinghouse acknowledges within a day, so the
#   837 or its acknowledgment was lost on the way;
# - accepted-no-835: accepted (277CA) and unpaid past the payer's follow-up window
#   (`followup_days` in data/payers.json, 30 days for a payer without one): the rule of the
#   follow-up work list (followups.domain.overdue), counted here so it shows in readiness.
# Any such claim warns: each one is money nobody is chasing.
PROBES = [
    Probe("claims:submitted-no-277ca", _unanswered, warn_count=1, unit="claims"),
    Probe("claims:accepted-no-835", store.accepted_overdue, warn_count=1, unit="claims"),
]
