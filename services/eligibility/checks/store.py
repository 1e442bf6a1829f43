"""All SQL on `checks` and `raw_x12`. Callers own the session and its transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, func, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.checks.tables import checks
from shared.bulk import insert_many
from shared.due import claim_due
from shared.stuckwork import count_and_oldest

CHECK_COLUMNS = (
    "id, state, status, patient_id, payer_id, member_hint, date_of_service, service_type_codes, result, "
    "error, cached_from, batch_id, created_at, completed_at, demographics_enc"
)

# The check and, in the same round trip, the freshest reusable answer for the same question
# (same cache key) inside its payer's TTL (`:ttls` maps payer id -> seconds; 0 = no cache).
_LOAD = text(
    "SELECT c.id, c.patient_id, c.payer_id, c.provider_npi, c.service_type_codes, c.date_of_service, "
    "c.cache_key, c.request_enc, c.state, c.attempts, h.id AS hit_id, h.status AS hit_status, "
    "h.result AS hit_result, h.demographics_enc AS hit_demographics FROM checks c LEFT JOIN LATERAL "
    "(SELECT id, status, result, demographics_enc FROM checks h "
    "WHERE :use_cache AND h.cache_key = c.cache_key AND h.state = 'done' "
    "AND h.status IN ('active', 'inactive') AND h.id <> c.id AND h.completed_at > clock_timestamp() - "
    "make_interval(secs => COALESCE(CAST(CAST(:ttls AS jsonb) ->> c.payer_id AS float8), 0)) "
    "ORDER BY h.completed_at DESC LIMIT 1) h ON true WHERE c.id = ANY(:ids)"
)
_FINISH = text(
    "UPDATE checks SET state = :state, status = :status, result = CAST(:result AS jsonb), "  # noqa: S608
    "error = CAST(:error AS jsonb), cached_from = :cached_from, completed_at = :at, lease_until = NULL, "
    "demographics_enc = :demographics, "
    f"request_enc = NULL WHERE id = :id AND state = 'pending' RETURNING {CHECK_COLUMNS}"
)
_INSERT_RAW = text(
    "INSERT INTO raw_x12 (check_id, x12_270, x12_271) VALUES (:id, :a, :b) ON CONFLICT DO NOTHING"
)
_DEFER = text(
    "UPDATE checks SET lease_until = clock_timestamp() + make_interval(secs => :s) "
    "WHERE id = :id AND state = 'pending'"
)
_RELEASE = text("UPDATE checks SET lease_until = NULL WHERE id = ANY(:ids) AND state = 'pending'")
_BY_ID = text(f"SELECT {CHECK_COLUMNS} FROM checks WHERE id = :id")  # noqa: S608 - constant columns
_LATEST = text(
    f"SELECT {CHECK_COLUMNS} FROM checks WHERE patient_id = :p AND state = 'done' "  # noqa: S608
    "AND status IN ('active', 'inactive') AND (CAST(:payer AS text) IS NULL OR payer_id = :payer) "
    "ORDER BY completed_at DESC LIMIT 1"
)
_RAW = text("SELECT x12_270, x12_271 FROM raw_x12 WHERE check_id = :id")
_GIVE_UP = text(
    "UPDATE checks SET state = 'failed', error = CAST(:error AS jsonb), request_enc = NULL, "
    "completed_at = clock_timestamp(), lease_until = NULL WHERE state = 'pending' AND attempts >= :max "
    "AND (lease_until IS NULL OR lease_until < clock_timestamp())"
)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


async def insert_checks(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """New pending checks (one, or a whole batch) in one statement."""
    await insert_many(session, checks, rows)


async def load_for_run(
    session: AsyncSession, ids: list[uuid.UUID], ttls: Mapping[str, float], *, use_cache: bool
) -> dict[uuid.UUID, RowMapping]:
    """The checks as running them needs them, each with its cache hit (`hit_*`, or None)."""
    found = await session.execute(_LOAD, {"ids": ids, "use_cache": use_cache, "ttls": json.dumps(ttls)})
    return {row["id"]: row for row in found.mappings()}


async def finish(
    session: AsyncSession,
    check_id: uuid.UUID,
    state: str,
    *,
    at: datetime,
    status: str | None,
    result: dict[str, Any] | None,
    error: dict[str, Any] | None,
    cached_from: uuid.UUID | None,
    demographics: bytes | None = None,
) -> RowMapping | None:
    """Move a pending check to its end state (with the sealed people of its 271); None when it
    was no longer pending."""
    params = {
        "demographics": demographics,
        "id": check_id,
        "state": state,
        "status": status,
        "result": _json(result),
        "error": _json(error),
        "cached_from": cached_from,
        "at": at,
    }
    return (await session.execute(_FINISH, params)).mappings().one_or_none()


async def insert_raw_x12(
    session: AsyncSession, check_id: uuid.UUID, x12_270: bytes, x12_271: bytes | None
) -> None:
    await session.execute(_INSERT_RAW, {"id": check_id, "a": x12_270, "b": x12_271})


async def defer(session: AsyncSession, check_id: uuid.UUID, seconds: float) -> None:
    """Hold a pending check back for `seconds` (its payer's breaker is open)."""
    await session.execute(_DEFER, {"id": check_id, "s": seconds})


async def release(session: AsyncSession, ids: list[uuid.UUID]) -> None:
    """Give the leases of pending checks back, so the next worker takes them at once."""
    await session.execute(_RELEASE, {"ids": ids})


async def load_check(session: AsyncSession, check_id: uuid.UUID) -> RowMapping | None:
    return (await session.execute(_BY_ID, {"id": check_id})).mappings().one_or_none()


async def latest_coverage(session: AsyncSession, patient_id: str, payer_id: str | None) -> RowMapping | None:
    """The patient's newest completed check whose payer answered active or inactive."""
    params = {"p": patient_id, "payer": payer_id}
    return (await session.execute(_LATEST, params)).mappings().one_or_none()


async def load_raw_x12(session: AsyncSession, check_id: uuid.UUID) -> RowMapping | None:
    return (await session.execute(_RAW, {"id": check_id})).mappings().one_or_none()


async def give_up(session: AsyncSession, max_attempts: int, error: dict[str, Any]) -> None:
    """Fail the pending checks claimed `max_attempts` times whose lease ran out."""
    await session.execute(_GIVE_UP, {"max": max_attempts, "error": json.dumps(error)})


async def claim_pending(session: AsyncSession, *, lease_seconds: float, limit: int) -> list[uuid.UUID]:
    """Lease up to `limit` pending checks nobody holds (oldest first), counting the attempt; a
    check whose lease ran out (its process died) is due again."""
    c = checks.c
    rows = await claim_due(
        session,
        checks,
        due=(c.state == "pending") & (c.lease_until.is_(None) | (c.lease_until < func.clock_timestamp())),
        order_by=[c.created_at],
        limit=limit,
        lease=(c.lease_until, lease_seconds),
        values={"attempts": c.attempts + 1},
        returning=[c.id, c.created_at],
    )
    return [row.id for row in rows]


async def pending_stats(session: AsyncSession) -> tuple[int, float | None]:
    """Checks not answered yet (running, waiting for a payer, or waiting for a worker): how
    many, and seconds since the oldest was asked (index `checks_pending`)."""
    c = checks.c
    return await count_and_oldest(session, checks, c.created_at, c.state == "pending")
