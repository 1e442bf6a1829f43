"""Idempotency-Key for money-moving POSTs.

The key is claimed in the same transaction as the payment itself, and the response is
stored with it. A retry with the same key and the same body gets the stored response
again (marked `Idempotent-Replayed: true`) and moves no money; the same key with a
different body is refused. Two concurrent requests with one key serialise on the key's
row: the second waits for the first to commit, then replays its answer. Keys are kept for
24 hours (`shared.outbox.purge_expired`); a retry after that is a new request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.problems import FieldError, ProblemError

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Unique per logical operation (a UUID is ideal). Retries with the same key and body "
        "within 24 hours return the first response and move no money.",
    ),
]


def require_key(value: str | None) -> str:
    """The header is mandatory on money-moving POSTs; 1-255 visible ASCII characters."""
    if value is None:
        raise ProblemError(
            400,
            "idempotency-key-required",
            "Idempotency-Key header required",
            "Money-moving requests need an Idempotency-Key header so a retry cannot charge twice.",
            errors=[FieldError(field="header.Idempotency-Key", rule="missing", message="Send a unique key.")],
        )
    if not (1 <= len(value) <= 255) or not value.isascii() or not value.isprintable():
        raise ProblemError(
            400,
            "idempotency-key-invalid",
            "Idempotency-Key header is not valid",
            errors=[
                FieldError(
                    field="header.Idempotency-Key",
                    rule="format",
                    message="Use 1 to 255 printable ASCII characters.",
                )
            ],
        )
    return value


def fingerprint(payload: Any) -> str:
    """A stable hash of the request, to spot a key reused for a different request."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Claim:
    """A claimed key: `replay` holds the stored response when the key was used before."""

    key: str
    scope: str
    replay: JSONResponse | None = None
    stored_body: Any = None


async def claim(session: AsyncSession, *, scope: str, key: str, request_hash: str) -> Claim:
    """Claim the key inside the caller's open transaction, or return the stored response."""
    inserted = await session.execute(
        text(
            "INSERT INTO idempotency_keys (idempotency_key, scope, request_hash, status_code, response_body) "
            "VALUES (:key, :scope, :hash, 0, 'null'::jsonb) ON CONFLICT DO NOTHING RETURNING 1"
        ),
        {"key": key, "scope": scope, "hash": request_hash},
    )
    if inserted.first() is not None:
        return Claim(key=key, scope=scope)
    stored = (
        await session.execute(
            text(
                "SELECT request_hash, status_code, response_body FROM idempotency_keys "
                "WHERE scope = :scope AND idempotency_key = :key"
            ),
            {"key": key, "scope": scope},
        )
    ).one()
    if stored.request_hash != request_hash:
        raise ProblemError(
            422,
            "idempotency-key-reused",
            "Idempotency-Key already used for a different request",
            "Use a new key for a new operation; reuse a key only to retry the identical request.",
            errors=[
                FieldError(
                    field="header.Idempotency-Key",
                    rule="unique_per_request",
                    message="This key belongs to a request with a different body.",
                )
            ],
        )
    return Claim(
        key=key,
        scope=scope,
        stored_body=stored.response_body,
        replay=JSONResponse(
            stored.response_body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
        ),
    )


async def store(session: AsyncSession, claimed: Claim, status_code: int, body: Any) -> None:
    """Keep the response with the key, in the same transaction as the change."""
    await session.execute(
        text(
            "UPDATE idempotency_keys SET status_code = :status, response_body = CAST(:body AS jsonb) "
            "WHERE scope = :scope AND idempotency_key = :key"
        ),
        {
            "status": status_code,
            "body": json.dumps(body, default=str),
            "scope": claimed.scope,
            "key": claimed.key,
        },
    )
