"""All SQL on the scrubber's copies of eligibility checks (authorizations: the authorizations
sub-domain).

Lookups take many (patient, payer) pairs at once (a batch of encounters or payments): they
filter by the pairs' patients and payers with `= ANY` (the tables' indexes lead with both)
and keep the exact pairs here, so a batch costs one statement per table, not one per claim.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims.store import PAIRS_WHERE, Pair, pair_params
from services.claims.scrubbing.domain import EligibilityFact
from services.claims.scrubbing.tables import EligibilityCopy

_PAIRS = PAIRS_WHERE

_ELIGIBILITY = text(
    "SELECT patient_id, payer_id, status, date_of_service, coverage_start, coverage_end, other_payers, "  # noqa: S608 - constant
    f"prior_auth_service_types FROM eligibility_copies WHERE {_PAIRS} ORDER BY checked_at"
).columns(other_payers=JSONB, prior_auth_service_types=JSONB)
_LATEST_CHECKS = text(
    "SELECT DISTINCT ON (patient_id, payer_id) patient_id, payer_id, other_payers FROM eligibility_copies "  # noqa: S608 - constant
    f"WHERE {_PAIRS} ORDER BY patient_id, payer_id, checked_at DESC"
).columns(other_payers=JSONB)


async def eligibility_facts(
    session: AsyncSession, pairs: Sequence[Pair]
) -> dict[Pair, list[EligibilityFact]]:
    """Our copies of each pair's eligibility checks, oldest first."""
    wanted, facts = set(pairs), {}
    for r in await session.execute(_ELIGIBILITY, pair_params(pairs)):
        if (r.patient_id, r.payer_id) in wanted:
            fact = EligibilityFact(
                r.status,
                r.date_of_service,
                r.coverage_start,
                r.coverage_end,
                tuple(r.prior_auth_service_types),
                other_payers=tuple((p.get("payer_id", ""), p.get("order", "")) for p in r.other_payers),
            )
            facts.setdefault((r.patient_id, r.payer_id), []).append(fact)
    return facts


async def latest_other_payers(
    session: AsyncSession, pairs: Sequence[Pair]
) -> dict[Pair, list[dict[str, Any]]]:
    """The other payers named by each pair's latest eligibility check (secondary billing)."""
    if not pairs:
        return {}
    wanted = set(pairs)
    rows = await session.execute(_LATEST_CHECKS, pair_params(pairs))
    return {(r.patient_id, r.payer_id): r.other_payers for r in rows if (r.patient_id, r.payer_id) in wanted}


async def eligibility_copy_exists(session: AsyncSession, check_id: uuid.UUID) -> bool:
    return await session.get(EligibilityCopy, check_id) is not None


def add_eligibility_copy(session: AsyncSession, values: dict[str, Any]) -> None:
    session.add(EligibilityCopy(**values))
