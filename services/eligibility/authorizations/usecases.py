"""Recording authorizations, counting their visits (by hand, and those submitted claims bill),
announcing every change, and warning about the ones about to lapse."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import RowMapping
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.authorizations import store
from services.eligibility.authorizations.domain import (
    billed_visits,
    chain_of,
    numbers_of,
    thresholds_reached,
    visits_left,
)
from services.eligibility.authorizations.schemas import AuthorizationIn, AuthorizationOut
from services.eligibility.settings import EligibilitySettings
from shared.db import Database
from shared.events import new_event
from shared.events.catalogue import AuthorizationExpiring, AuthorizationRecorded, ClaimSubmitted
from shared.outbox import add_event
from shared.paging import CursorPage, DateRange, PageQuery
from shared.problems import ProblemError


def _json_list(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value)


def authorization_out(row: Any) -> AuthorizationOut:
    allowed = row["visits_allowed"]
    return AuthorizationOut(
        **{k: row[k] for k in ("id", "patient_id", "payer_id", "number", "kind", "start_date", "end_date")},
        service_codes=_json_list(row["service_codes"]),
        service_type_codes=_json_list(row["service_type_codes"]),
        visits_allowed=allowed,
        visits_used=row["visits_used"],
        visits_left=visits_left(allowed, row["visits_used"]),
        created_at=row["created_at"],
    )


def announce(session: AsyncSession, row: Any) -> None:
    """Stage `authorization.recorded` with the authorization's whole current state (recorded,
    or its visits counted), in the caller's transaction; claims keeps the latest as its copy."""
    out = authorization_out(row)
    recorded = AuthorizationRecorded(
        authorization_id=out.id,
        **out.model_dump(
            include={
                "patient_id",
                "payer_id",
                "number",
                "kind",
                "service_codes",
                "service_type_codes",
                "start_date",
                "end_date",
                "visits_allowed",
                "visits_used",
            }
        ),
    )
    add_event(session, new_event(recorded))


async def record(session: AsyncSession, body: AuthorizationIn, recorded_by: str) -> AuthorizationOut:
    """Keep the authorization and publish `authorization.recorded` in one transaction; 409 when
    the payer's number is already on file."""
    async with session.begin():
        values = {"id": uuid.uuid4(), **body.model_dump(), "recorded_by": recorded_by}
        row = await store.insert(session, values)
        if row is None:
            raise ProblemError(
                409, "conflict", "Already on file", "This payer's authorization number is already recorded."
            )
        announce(session, row)
    return authorization_out(row)


async def page_for_patient(
    session: AsyncSession, patient_id: str, active_on: date | None, dates: DateRange, page: PageQuery
) -> CursorPage[AuthorizationOut]:
    rows, cursor = await store.page_for_patient(session, patient_id, active_on, dates, page)
    return CursorPage(items=[authorization_out(r._mapping) for r in rows], next_cursor=cursor)


async def load(session: AsyncSession, authorization_id: uuid.UUID) -> RowMapping | None:
    return await store.load(session, authorization_id)


async def use_visits(session: AsyncSession, authorization_id: uuid.UUID, visits: int) -> AuthorizationOut:
    """Count visits as used and announce the new count; 409 when there is no such
    authorization or not that many left."""
    async with session.begin():
        row = await store.use_visits(session, authorization_id, visits)
        if row is None:
            raise ProblemError(
                409,
                "conflict",
                "Visits not recorded",
                "No such authorization, or it has not that many visits left.",
            )
        announce(session, row)
    return authorization_out(row)


async def count_billed_visits(session: AsyncSession, claims: Sequence[ClaimSubmitted]) -> None:
    """Count the authorized visits submitted claims bill (their lines' REF*G1 numbers), once
    per claim chain, authorization and date of service, and announce each changed count.

    A claim's chain (it and its corrections: `first_claim_id`) keeps the visits its latest
    submission bills: sending it again changes nothing, a correction that moves the date or
    drops the number moves or gives back the visit, a void gives its visits back. The change
    is applied from what the statements really inserted and deleted, under a lock a poll with
    a correction or void takes exclusively (`store.lock_chains`), so a chain's events racing on
    two replicas cannot count a visit twice."""
    chains = [chain_of(c) for c in claims]
    joining = any(chain != c.claim_id for c, chain in zip(claims, chains, strict=True))
    await store.lock_chains(session, shared=not joining)  # a claim of the chain on another replica
    before = await store.chain_visits(session, chains)
    on_file = await store.ids_by_number(session, set().union(*(numbers_of(c) for c in claims)))
    after = {chain: set(visits) for chain, visits in before.items()}
    for claim, chain in zip(claims, chains, strict=True):
        after[chain] = billed_visits(claim, on_file)
    added = [(chain, *visit) for chain in after for visit in after[chain] - before[chain]]
    removed = [(chain, *visit) for chain in after for visit in before[chain] - after[chain]]
    deltas = await store.change_visits(session, added, removed)
    for row in await store.count_visits(session, deltas):
        announce(session, row)


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
