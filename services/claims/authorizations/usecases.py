"""Keeping our copies of authorizations current."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.authorizations import store
from shared.events.catalogue import AuthorizationRecorded


async def record_authorization(session: AsyncSession, auth: AuthorizationRecorded) -> None:
    """Our copy of an authorization; a later event for the same id (an extension, visits
    counted) replaces it."""
    values = {
        "patient_id": auth.patient_id,
        "payer_id": auth.payer_id,
        "number": auth.number,
        "kind": auth.kind,
        "service_codes": list(auth.service_codes),
        "service_type_codes": list(auth.service_type_codes),
        "start_date": auth.start_date,
        "end_date": auth.end_date,
        "visits_allowed": auth.visits_allowed,
        "visits_used": auth.visits_used,
    }
    await store.save_authorization_copy(session, auth.authorization_id, values)
