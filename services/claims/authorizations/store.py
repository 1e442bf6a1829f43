"""All SQL on our copies of authorizations.

Lookups take many (patient, payer) pairs at once (a batch of encounters): one statement
filtered with `= ANY` on the index's columns, the exact pairs kept here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.authorizations.domain import AuthorizationFact
from services.claims.authorizations.tables import AuthorizationCopy
from services.claims.claims.store import PAIRS_WHERE, Pair, pair_params

_AUTHORIZATIONS = text(
    "SELECT patient_id, payer_id, number, kind, service_codes, service_type_codes, start_date, "  # noqa: S608 - constant
    "end_date, visits_allowed, visits_used FROM authorization_copies "
    f"WHERE {PAIRS_WHERE}"
).columns(service_codes=JSONB, service_type_codes=JSONB)


async def authorization_facts(
    session: AsyncSession, pairs: Sequence[Pair]
) -> dict[Pair, list[AuthorizationFact]]:
    """Our copies of each pair's authorizations."""
    wanted, facts = set(pairs), {}
    for r in await session.execute(_AUTHORIZATIONS, pair_params(pairs)):
        if (r.patient_id, r.payer_id) in wanted:
            fact = AuthorizationFact(
                r.number,
                tuple(r.service_codes),
                r.start_date,
                r.end_date,
                r.visits_allowed,
                r.visits_used,
                r.kind,
                tuple(r.service_type_codes),
            )
            facts.setdefault((r.patient_id, r.payer_id), []).append(fact)
    return facts


async def save_authorization_copy(
    session: AsyncSession, authorization_id: uuid.UUID, values: dict[str, Any]
) -> None:
    """Insert the authorization, or replace our copy with its new state (same id)."""
    row = await session.get(AuthorizationCopy, authorization_id)
    if row is None:
        session.add(AuthorizationCopy(authorization_id=authorization_id, **values))
        return
    for key, value in values.items():
        setattr(row, key, value)
    session.add(row)
