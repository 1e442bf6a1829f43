"""Following up claims the payer has not answered: `claim.followup_due` once per submission (a
resubmission starts the clock again), and the list a person works from."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims.tables import Claim
from services.claims.followups import store
from services.claims.followups.domain import overdue
from services.claims.followups.schemas import FollowupOut
from shared.events import new_event
from shared.events.catalogue import ClaimFollowupDue
from shared.outbox import add_events
from shared.paging import CursorPage, PageQuery, paginate


async def publish_due(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """One round: take overdue claims not announced yet (replicas never take the same one) and
    publish one claim.followup_due each; returns how many."""
    events = []
    for claim_id, payer_id, submitted_at in await store.take_due(session, now, limit):
        due_at, days = overdue(submitted_at, payer_id, now) or (now, 0)  # taken: overdue by SQL
        payload = ClaimFollowupDue(
            claim_id=claim_id,
            payer_id=payer_id,
            submitted_at=submitted_at,
            days_outstanding=days,
            due_at=due_at,
        )
        events.append(new_event(payload))
    await add_events(session, events)
    return len(events)


def followup_out(claim: Claim, now: datetime) -> FollowupOut:
    assert claim.submitted_at is not None
    due_at, days = overdue(claim.submitted_at, claim.payer_id, now) or (now, 0)
    return FollowupOut(
        claim_id=claim.id,
        patient_id=claim.patient_id,
        patient_control_number=claim.patient_control_number,
        payer_id=claim.payer_id,
        status=claim.status,
        total_charge=claim.total_charge,
        submitted_at=claim.submitted_at,
        due_at=due_at,
        days_outstanding=days,
        notified=claim.followup_published_at is not None,
    )


async def overdue_page(
    session: AsyncSession, page: PageQuery, now: datetime, payer_id: str | None
) -> CursorPage[FollowupOut]:
    """One page of the claims overdue at `now`, longest waiting first (submitted earliest)."""
    stmt = store.overdue_statement(now, payer_id)
    rows, cursor = await paginate(
        session,
        stmt,
        page,
        Claim.submitted_at,
        Claim.id,
        key=lambda c: (c.submitted_at, c.id),
        oldest_first=True,
    )
    return CursorPage[FollowupOut](items=[followup_out(c, now) for c in rows], next_cursor=cursor)
