"""Follow-up: claims the payer has not answered inside its window.

The worker publishes `claim.followup_due` once per submission (a resubmission starts the
clock again); `GET /v1/followups` is the list a person works from.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims import lifecycle, reference
from services.claims.models import Claim
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import Database, SessionDep
from shared.events import new_event
from shared.events.catalogue import ClaimFollowupDue
from shared.outbox import add_event

WAITING = ("submitted", "accepted")
router = APIRouter(prefix="/v1/followups", tags=["follow-up"])


def overdue(claim: Claim, now: datetime) -> tuple[datetime, datetime, int] | None:
    """(submitted at, due at, days outstanding) of a claim past its payer's window at `now`."""
    if claim.submitted_at is None:
        return None
    payer = reference.payers().get(claim.payer_id)
    due = claim.submitted_at + timedelta(days=payer.followup_days if payer else 30)
    return (claim.submitted_at, due, (now - claim.submitted_at).days) if due <= now else None


async def publish_due(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """One round: lock unanswered, overdue claims (SKIP LOCKED, safe on several replicas) and
    publish one claim.followup_due each."""
    shortest = min((p.followup_days for p in reference.payers().values()), default=30)
    rows = (
        await session.exec(
            select(Claim)
            .where(
                col(Claim.status).in_(WAITING),
                col(Claim.followup_published_at).is_(None),
                col(Claim.submitted_at) <= now - timedelta(days=shortest),
            )
            .order_by(col(Claim.submitted_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    published = 0
    for claim in rows:
        if (late := overdue(claim, now)) is None:
            continue
        submitted_at, due, days = late
        claim.followup_published_at = now
        session.add(claim)
        add_event(
            session,
            new_event(
                ClaimFollowupDue(
                    claim_id=claim.id,
                    payer_id=claim.payer_id,
                    submitted_at=submitted_at,
                    days_outstanding=days,
                    due_at=due,
                ),
                source=lifecycle.SOURCE,
            ),
        )
        published += 1
    return published


async def step(app: FastAPI, now: datetime | None = None) -> int:
    db: Database = app.state.db
    async with db.session() as session, session.begin():
        return await publish_due(session, now or lifecycle.now())


class FollowupOut(BaseModel):
    claim_id: uuid.UUID
    patient_control_number: str
    payer_id: str
    status: str
    total_charge: Decimal
    submitted_at: datetime
    due_at: datetime
    days_outstanding: int
    notified: bool


@router.get("", response_model=list[FollowupOut], summary="Claims with no answer inside the payer's window")
async def list_followups(
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("followup", "list", require_scopes("claims:read"))],
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    as_of: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[FollowupOut]:
    now = as_of or lifecycle.now()
    stmt = select(Claim).where(col(Claim.status).in_(WAITING), col(Claim.submitted_at).is_not(None))
    if payer_id:
        stmt = stmt.where(Claim.payer_id == payer_id)
    rows = (await session.exec(stmt.order_by(col(Claim.submitted_at)).limit(limit * 5))).all()
    out = []
    for claim in rows:
        if (late := overdue(claim, now)) is None:
            continue
        submitted_at, due, days = late
        out.append(
            FollowupOut(
                claim_id=claim.id,
                patient_control_number=claim.patient_control_number,
                payer_id=claim.payer_id,
                status=claim.status,
                total_charge=claim.total_charge,
                submitted_at=submitted_at,
                due_at=due,
                days_outstanding=days,
                notified=claim.followup_published_at is not None,
            )
        )
    return out[:limit]
