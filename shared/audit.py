"""HIPAA audit trail: who read or changed which patient's data, when, and how it ended.

Routes that touch patient data take an `AuditTrail` dependency and tell it the resource
id (and the patient, when known). The entry is written after the route finishes, in its
own transaction, so a refused or failed request is recorded too. The table is
append-only: the service role has no UPDATE or DELETE on it, and a trigger refuses both.
"""

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlmodel import col, select

from shared import context
from shared.auth import Principal
from shared.db import Database
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


def _outcome(exc: BaseException | None) -> tuple[str, int | None]:
    if exc is None:
        return "success", None
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if isinstance(exc, RequestValidationError):
        status = 422
    if status in (401, 403):
        return "denied", status
    if status == 404:
        return "not_found", status
    if isinstance(status, int) and status < 500:
        return "rejected", status
    return "error", status or 500


async def write_entry(db: Database, trail: AuditTrail, outcome: str, status: int | None) -> None:
    """Append one entry in its own transaction (independent of the request's)."""
    ctx = context.peek()
    async with db.session() as session, session.begin():
        session.add(
            AuditRow(
                actor=trail.actor,
                action=trail.action,
                resource_type=trail.resource_type,
                resource_id=trail.resource_id,
                patient_id=trail.patient_id,
                outcome=outcome,
                status_code=status,
                correlation_id=ctx.correlation_id if ctx else None,
            )
        )


def audited(resource_type: str, action: str, principal_dep: Any) -> Any:
    """Dependency factory: `trail: AuditTrail = audited("payment", "create", require_scopes(...))`."""

    async def _trail(request: Request, principal: Principal = principal_dep) -> AsyncIterator[AuditTrail]:
        trail = AuditTrail(resource_type=resource_type, action=action, actor=principal.subject)
        error: BaseException | None = None
        try:
            yield trail
        except (ProblemError, HTTPException) as exc:
            error = exc
            raise
        except Exception as exc:
            error = exc
            raise
        finally:
            outcome, status = _outcome(error)
            try:
                await write_entry(request.app.state.db, trail, outcome, status)
            except Exception as exc:  # an audit failure must be loud, but never leak data
                log.error(
                    "audit write failed",
                    extra={"error_type": type(exc).__name__, "resource_type": resource_type},
                )
                if error is None:
                    raise

    return Depends(_trail)


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


async def query(
    db: Database,
    *,
    resource_type: str | None,
    resource_id: str | None,
    patient_id: str | None,
    actor: str | None,
    limit: int,
) -> list[AuditEntry]:
    """Newest first, filtered; used by the shared `GET /v1/audit` route."""
    stmt = select(AuditRow).order_by(col(AuditRow.id).desc()).limit(limit)
    filters: list[tuple[Any, str | None]] = [
        (AuditRow.resource_type, resource_type),
        (AuditRow.resource_id, resource_id),
        (AuditRow.patient_id, patient_id),
        (AuditRow.actor, actor),
    ]
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    async with db.session() as session:
        rows = (await session.exec(stmt)).all()
    return [AuditEntry.model_validate(row, from_attributes=True) for row in rows]
