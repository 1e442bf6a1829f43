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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.audit import AuditTrail
from shared.problems import FieldError, ProblemError

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Unique per logical operation (a UUID is ideal). Retries with the same key and body "
        "within 24 hours return the first response and do nothing again (no second payment, claim, "
        "void or appeal).",
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


@dataclass
class Outcome:
    """What an idempotent write answered: the first time, or replayed from the stored key."""

    body: Any
    status_code: int
    replayed: bool

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        extra = {"Idempotent-Replayed": "true"} if self.replayed else {}
        return JSONResponse(self.body, status_code=self.status_code, headers={**extra, **(headers or {})})


async def idempotent_write(
    session: AsyncSession,
    *,
    scope: str,
    actor: str,
    key: str | None,
    request: Any,
    write: Callable[[], Awaitable[Any]],
    status_code: int = 201,
    required: bool = True,
) -> Outcome:
    """The one idempotent write: claim the key → replay, or write → store, in one transaction.

    The key is scoped to the operation and to the caller (`actor`), so two clients that happen
    to pick the same key never see each other's answers. `write()` makes the change and returns
    the JSON-able body; the body is stored with the key in the same transaction, so a crash
    leaves either both or neither. Without a key, `required=False` writes without protection
    (for creating POSTs where the header is optional); `required=True` answers 400."""
    if key is None and not required:
        async with session.begin():
            body = jsonable(await write())
        return Outcome(body, status_code, replayed=False)
    key = require_key(key)
    async with session.begin():
        claimed = await claim(session, scope=f"{scope}:{actor}", key=key, request_hash=fingerprint(request))
        if claimed.replay is not None:
            return Outcome(claimed.stored_body, claimed.replay.status_code, replayed=True)
        body = jsonable(await write())
        await store(session, claimed, status_code, body)
    return Outcome(body, status_code, replayed=False)


def jsonable(body: Any) -> Any:
    """Pydantic models become their JSON form; anything else must already be JSON-able."""
    dump = getattr(body, "model_dump", None)
    return dump(mode="json") if callable(dump) else body


async def audited_create(
    session: AsyncSession,
    trail: AuditTrail,
    *,
    scope: str,
    key: str | None,
    request: Any,
    write: Callable[[], Awaitable[Any]],
    required: bool = True,
    location: str | None = None,
) -> JSONResponse:
    """A creating POST answered through `idempotent_write`: the audit entry names what was made
    (first time or replayed), and `location` (a path with `{id}`) points at it."""
    outcome = await idempotent_write(
        session, scope=scope, actor=trail.actor, key=key, request=request, write=write, required=required
    )
    trail.resource_id = str(outcome.body["id"])
    headers = {"Location": location.format(id=outcome.body["id"])} if location else None
    return outcome.response(headers=headers)
