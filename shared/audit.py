"""HIPAA audit trail: who read or changed which patient's data, when, and how it ended.

Routes that touch patient data take an `AuditTrail` dependency and tell it the resource id
and the patient (`trail.patient_id`), or every patient a bulk read returned (`trail.saw(...)`).
The entry is written when the route is done, before the response leaves, through the
request's own session: in the request's transaction when it is still open (a read), else in
a transaction of its own on the same connection. A request therefore never holds one pooled
connection while it waits for a second (issue 17: at 20 concurrent requests that emptied the
pool). Failed requests are recorded with their outcome; calls refused before the route ran
(401, 403) by `record_refusals`, with the actor when the token names one, the route template
and the reason. The table is append-only (no UPDATE or DELETE for the service role, a
trigger refusing both) and hash-chained (shared.audit_chain).
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import context
from shared.auth import Principal
from shared.db import Database, get_session
from shared.problems import ProblemError
from shared.tables import AuditRow

log = logging.getLogger(__name__)


@dataclass
class AuditTrail:
    """Filled in by the route; written by the dependency when the route is done."""

    resource_type: str
    action: str
    actor: str
    resource_id: str | None = None
    patient_id: str | None = None
    patient_ids: set[str] = field(default_factory=set)

    def saw(self, patient_ids: Iterable[str | None]) -> None:
        """A bulk read: record every patient it returned (one entry, indexed per patient)."""
        self.patient_ids.update(str(p) for p in patient_ids if p)

    def saw_in(self, returned: Any, key: str = "patient_id") -> None:
        """A bulk read: record every patient named under `key` anywhere in what the route
        returns (a page, a model, rows as dicts), so a field added deep in a response is
        covered without the route listing it. `key` is the service's patient identifier:
        patient_id (eligibility, claims), account_id (payments), recipient_id (notifications)."""
        self.saw(patients_in(returned, key))


PATIENT_KEYS = {
    "eligibility": "patient_id",
    "claims": "patient_id",
    "payments": "account_id",
    "notifications": "recipient_id",
    "frontoffice": "patient_id",
}
"""The field that names a patient in each service's responses (what its single-resource routes
put in `trail.patient_id`); tests/security/test_audit_bulk.py walks every response with it."""


def patients_in(returned: Any, key: str) -> set[str]:
    """Every value under `key` at any depth of `returned` (pydantic models, dicts, lists)."""
    found: set[str] = set()
    stack = [returned]
    while stack:
        node = stack.pop()
        if isinstance(node, BaseModel):
            node = node.model_dump(mode="json")
        if isinstance(node, dict):
            value = node.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
                found.add(str(value))
            stack.extend(v for k, v in node.items() if isinstance(v, dict | list | tuple | BaseModel))
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return found


def _outcome(exc: BaseException | None) -> tuple[str, int | None, str | None]:
    """(outcome, status, reason); the reason is a constant (a problem's slug, an error type),
    never a message that could carry what the caller sent."""
    if exc is None:
        return "success", None, None
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    reason = getattr(exc, "slug", None) or type(exc).__name__
    if isinstance(exc, RequestValidationError):
        status, reason = 422, "validation-error"
    if status in (401, 403):
        return "denied", status, reason
    if status == 404:
        return "not_found", status, reason
    if isinstance(status, int) and status < 500:
        return "rejected", status, reason
    return "error", status or 500, reason


def route_of(request: Request) -> str:
    """`GET /v1/claims/{claim_id}`: the route's template, never a path with ids in it."""
    return f"{request.method} {getattr(request.scope.get('route'), 'path', 'unmatched')}"


def _values(
    trail: AuditTrail, outcome: str, status: int | None, route: str | None, reason: str | None
) -> dict:
    ctx = context.peek()
    patients = set(trail.patient_ids) | ({trail.patient_id} if trail.patient_id else set())
    return {
        "actor": trail.actor,
        "action": trail.action,
        "resource_type": trail.resource_type,
        "resource_id": trail.resource_id,
        "patient_id": trail.patient_id,
        "patient_ids": sorted(patients) or None,
        "outcome": outcome,
        "status_code": status,
        "correlation_id": ctx.correlation_id if ctx else None,
        "route": route,
        "reason": reason,
    }


async def append(session: AsyncSession, values: dict[str, Any], *, discard: bool) -> None:
    """Add one entry through `session` and commit. `discard`: first roll back what the session
    holds (a failed request's work); pending ORM changes are discarded too, as closing the
    session would have. Otherwise an open (read) transaction takes the entry and commits."""
    if discard or session.new or session.dirty or session.deleted:
        await session.rollback()
    await session.execute(insert(AuditRow.__table__).values(**values))  # type: ignore[attr-defined]
    await session.commit()


async def write_entry(db: Database, trail: AuditTrail, outcome: str, status: int | None) -> None:
    """Append one entry in a session of its own (command-line tools, not requests)."""
    async with db.session() as session:
        await append(session, _values(trail, outcome, status, None, None), discard=False)


def audited(resource_type: str, action: str, principal_dep: Any) -> Any:
    """Dependency factory: `trail: AuditTrail = audited("payment", "create", require_scopes(...))`."""

    def _target(request: Request) -> None:
        # Named before the principal is checked, so a refusal is recorded against it.
        request.state.audit_target = (resource_type, action)

    async def _trail(
        request: Request,
        _: None = Depends(_target),
        principal: Principal = principal_dep,
        session: AsyncSession = Depends(get_session),
    ) -> AsyncIterator[AuditTrail]:
        trail = AuditTrail(resource_type=resource_type, action=action, actor=principal.subject)
        error: BaseException | None = None
        try:
            yield trail
        except (ProblemError, HTTPException, Exception) as exc:
            error = exc
            raise
        finally:
            outcome, status, reason = _outcome(error)
            try:
                values = _values(trail, outcome, status, route_of(request), reason)
                await append(session, values, discard=error is not None)
            except Exception as exc:  # an audit failure must be loud, but never leak data
                log.error(
                    "audit write failed",
                    extra={"error_type": type(exc).__name__, "resource_type": resource_type},
                )
                if error is None:
                    raise

    # Function scope: the entry is committed before the response is sent, so a client that
    # has its answer will find it in the audit.
    return Depends(_trail, scope="function")


CallNext = Callable[[Request], Awaitable[Response]]


async def record_refusals(request: Request, call_next: CallNext) -> Response:
    """Middleware: a call the authentication refused (401, 403; shared.auth notes why on
    request.state.refusal) is recorded with the actor when known, the route and the reason.
    The route never ran, so the request holds no connection while this one is taken."""
    response = await call_next(request)
    refusal = getattr(request.state, "refusal", None)
    db: Database | None = getattr(request.app.state, "db", None)  # None: a service without one
    if refusal is None or db is None or response.status_code not in (401, 403):
        return response
    actor, reason = refusal
    resource_type, action = getattr(request.state, "audit_target", ("route", request.method.lower()))
    trail = AuditTrail(resource_type=resource_type, action=action, actor=actor or "anonymous")
    try:
        async with db.session() as session:
            values = _values(trail, "denied", response.status_code, route_of(request), reason)
            await append(session, values, discard=False)
    except Exception as exc:
        log.error(
            "audit write failed", extra={"error_type": type(exc).__name__, "resource_type": resource_type}
        )
    return response


class AuditEntry(BaseModel):
    """One audit entry as operators see it."""

    id: int
    occurred_at: datetime
    actor: str
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: str | None
    outcome: str
    status_code: int | None
    correlation_id: str | None
    patient_ids: list[str] | None = None
    route: str | None = None
    reason: str | None = None


async def query(
    *,
    resource_type: str | None,
    resource_id: str | None,
    patient_id: str | None,
    actor: str | None,
    limit: int,
    before: int | None = None,
    session: AsyncSession,
) -> list[AuditEntry]:
    """Newest first, filtered; used by the shared `GET /v1/audit` route. A patient's entries
    are those whose patient_ids hold them (single reads and bulk reads alike, GIN-indexed);
    `before` (the last id of a page) gives the next page."""
    stmt = select(AuditRow).order_by(col(AuditRow.id).desc()).limit(limit)
    filters: list[tuple[Any, str | None]] = [
        (AuditRow.resource_type, resource_type),
        (AuditRow.resource_id, resource_id),
        (AuditRow.actor, actor),
    ]
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    if patient_id is not None:
        stmt = stmt.where(col(AuditRow.patient_ids).contains([patient_id]))
    if before is not None:
        stmt = stmt.where(col(AuditRow.id) < before)
    rows = (await session.exec(stmt)).all()
    return [AuditEntry.model_validate(row, from_attributes=True) for row in rows]
