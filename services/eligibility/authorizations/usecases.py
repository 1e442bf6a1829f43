"""Recording authorizations, counting their visits, and announcing the ones about to lapse."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from sqlalchemy import RowMapping
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.authorizations import store
from services.eligibility.authorizations.domain import thresholds_reached, visits_left
from services.eligibility.authorizations.schemas import AuthorizationIn, AuthorizationOut
from services.eligibility.settings import EligibilitySettings
from shared.db import Database
from shared.events import new_event
from shared.events.catalogue import AuthorizationExpiring, AuthorizationRecorded
from shared.outbox import add_event
from shared.paging import CursorPage, DateRange, PageQuery
from shared.problems import ProblemError


def authorization_out(row: Any) -> AuthorizationOut:
    codes = row["service_codes"]
    if isinstance(codes, str):
        codes = json.loads(codes)
    allowed = row["visits_allowed"]
    return AuthorizationOut(
        **{k: row[k] for k in ("id", "patient_id", "payer_id", "number", "kind", "start_date", "end_date")},
        service_codes=codes,
        visits_allowed=allowed,
        visits_used=row["visits_used"],
        visits_left=visits_left(allowed, row["visits_used"]),
        created_at=row["created_at"],
    )


async def record(session: AsyncSession, body: AuthorizationIn, recorded_by: str) -> AuthorizationOut:
    """Keep the authorization and publish `authorization.recorded` in one transaction; 409 when
    the payer's number is already on file."""
    auth_id = uuid.uuid4()
    async with session.begin():
        row = await store.insert(session, {"id": auth_id, **body.model_dump(), "recorded_by": recorded_by})
        if row is None:
            raise ProblemError(
                409, "conflict", "Already on file", "This payer's authorization number is already recorded."
            )
        recorded = AuthorizationRecorded(
            authorization_id=auth_id,
            patient_id=body.patient_id,
            payer_id=body.payer_id,
            number=body.number,
            kind=body.kind,
            service_codes=body.service_codes,
            start_date=body.start_date,
            end_date=body.end_date,
            visits_allowed=body.visits_allowed,
            visits_used=body.visits_used,
        )
        add_event(session, new_event(recorded))
    return authorization_out(row)


async def page_for_patient(
    session: AsyncSession, patient_id: str, active_on: date | None, dates: DateRange, page: PageQuery
) -> CursorPage[AuthorizationOut]:
    rows, cursor = await store.page_for_patient(session, patient_id, active_on, dates, page)
    return CursorPage(items=[authorization_out(r._mapping) for r in rows], next_cursor=cursor)


async def load(session: AsyncSession, authorization_id: uuid.UUID) -> RowMapping | None:
    return await store.load(session, authorization_id)


async def use_visits(session: AsyncSession, authorization_id: uuid.UUID, visits: int) -> AuthorizationOut:
    """Count visits as used; 409 when there is no such authorization or not that many left."""
    async with session.begin():
        row = await store.use_visits(session, authorization_id, visits)
    if row is None:
        raise ProblemError(
            409,
            "conflict",
            "Visits not recorded",
            "No such authorization, or it has not that many visits left.",
        )
    return authorization_out(row)


async def send_expiring_alerts(db: Database, settings: EligibilitySettings, today: date) -> int:
    """Publish the `authorization.expiring` alerts that are due; returns how many went out."""
    days, visits = settings.authorization_expiring_days, settings.authorization_visits_threshold
    sent = 0
    async with db.session() as session, session.begin():
        for row in await store.due_alerts(session, today, days=days, visits=visits):
            for threshold in thresholds_reached(row, days=days, visits=visits):
                if not await store.claim_alert(session, row["id"], threshold):
                    continue
                expiring = AuthorizationExpiring(
                    authorization_id=row["id"],
                    patient_id=row["patient_id"],
                    payer_id=row["payer_id"],
                    end_date=row["end_date"],
                    days_left=row["days_left"],
                    visits_left=visits_left(row["visits_allowed"], row["visits_used"]),
                )
                add_event(session, new_event(expiring))
                sent += 1
    return sent
