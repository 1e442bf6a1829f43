"""Referrals and prior authorizations: on file, announced, and warned about before they lapse.

Recording one publishes `authorization.recorded` (claims uses it to attach the number).
The `authorization-alerts` worker publishes `authorization.expiring` once per authorization
and threshold: when the end date is ELIGIBILITY_AUTHORIZATION_EXPIRING_DAYS away or less,
and when ELIGIBILITY_AUTHORIZATION_VISITS_THRESHOLD visits or fewer remain. "Once" is held
by the primary key of `authorization_alerts`, written in the event's transaction, so
replicas racing on the same authorization publish one event between them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import text

from services.eligibility.checks import SOURCE, unknown_payer
from services.eligibility.runtime import runtime
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import Database, SessionDep
from shared.events import new_event
from shared.events.catalogue import AuthorizationExpiring, AuthorizationRecorded, Id
from shared.outbox import add_event
from shared.problems import ProblemError


class AuthorizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: Id
    payer_id: Id
    number: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9\-]+$")
    kind: Literal["prior_authorization", "referral"] = "prior_authorization"
    service_codes: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{5}$")]] = Field(
        default_factory=list, max_length=50
    )
    start_date: date
    end_date: date
    visits_allowed: int | None = Field(default=None, ge=0)
    visits_used: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _dates(self) -> AuthorizationIn:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.visits_allowed is not None and self.visits_used > self.visits_allowed:
            raise ValueError("visits_used exceeds visits_allowed")
        return self


class AuthorizationOut(BaseModel):
    id: uuid.UUID
    patient_id: str
    payer_id: str
    number: str
    kind: str
    service_codes: list[str]
    start_date: date
    end_date: date
    visits_allowed: int | None
    visits_used: int
    visits_left: int | None
    created_at: datetime


router = APIRouter(prefix="/v1/authorizations", tags=["authorizations"])

_COLUMNS = (
    "id, patient_id, payer_id, number, kind, service_codes, start_date, end_date, visits_allowed, "
    "visits_used, created_at"
)


def _out(row: Any) -> AuthorizationOut:
    codes = row["service_codes"]
    if isinstance(codes, str):
        codes = json.loads(codes)
    allowed = row["visits_allowed"]
    return AuthorizationOut(
        **{k: row[k] for k in ("id", "patient_id", "payer_id", "number", "kind", "start_date", "end_date")},
        service_codes=codes,
        visits_allowed=allowed,
        visits_used=row["visits_used"],
        visits_left=None if allowed is None else allowed - row["visits_used"],
        created_at=row["created_at"],
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AuthorizationOut, summary="Record one")
async def create_authorization(
    request: Request,
    body: AuthorizationIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("authorization", "create", require_scopes("eligibility:write"))],
) -> JSONResponse:
    trail.patient_id = body.patient_id
    unknown_payer(runtime(request.app), body.payer_id, "body.payer_id")
    auth_id = uuid.uuid4()
    async with session.begin():
        row = (
            (
                await session.execute(
                    text(
                        "INSERT INTO authorizations (id, patient_id, payer_id, number, kind, service_codes, "  # noqa: S608
                        "start_date, end_date, visits_allowed, visits_used, recorded_by) VALUES (:id, :p, "
                        ":payer, :n, :k, CAST(:codes AS jsonb), :s, :e, :va, :vu, :by) "
                        f"ON CONFLICT (payer_id, number) DO NOTHING RETURNING {_COLUMNS}"
                    ),
                    {
                        "id": auth_id,
                        "p": body.patient_id,
                        "payer": body.payer_id,
                        "n": body.number,
                        "k": body.kind,
                        "codes": json.dumps(body.service_codes),
                        "s": body.start_date,
                        "e": body.end_date,
                        "va": body.visits_allowed,
                        "vu": body.visits_used,
                        "by": trail.actor,
                    },
                )
            )
            .mappings()
            .one_or_none()
        )
        if row is None:
            raise ProblemError(
                409, "conflict", "Already on file", "This payer's authorization number is already recorded."
            )
        add_event(
            session,
            new_event(
                AuthorizationRecorded(
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
                ),
                source=SOURCE,
            ),
        )
    trail.resource_id = str(auth_id)
    out = _out(row)
    return JSONResponse(
        out.model_dump(mode="json"), status_code=201, headers={"Location": f"/v1/authorizations/{auth_id}"}
    )


@router.get("", response_model=list[AuthorizationOut], summary="A patient's authorizations")
async def list_authorizations(
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("authorization", "read", require_scopes("eligibility:read"))],
    patient_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")],
    active_on: date | None = None,
) -> list[AuthorizationOut]:
    trail.patient_id = patient_id
    rows = (
        await session.execute(
            text(
                f"SELECT {_COLUMNS} FROM authorizations WHERE patient_id = :p AND "  # noqa: S608 - constant
                "(CAST(:on AS date) IS NULL OR (start_date <= :on AND end_date >= :on)) ORDER BY end_date"
            ),
            {"p": patient_id, "on": active_on},
        )
    ).mappings()
    return [_out(r) for r in rows]


@router.get("/{authorization_id}", response_model=AuthorizationOut, summary="One authorization")
async def get_authorization(
    authorization_id: Annotated[uuid.UUID, Path()],
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("authorization", "read", require_scopes("eligibility:read"))],
) -> AuthorizationOut:
    trail.resource_id = str(authorization_id)
    row = (
        (
            await session.execute(
                text(f"SELECT {_COLUMNS} FROM authorizations WHERE id = :id"),  # noqa: S608 - constant
                {"id": authorization_id},
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise ProblemError(404, "not-found", "Authorization not found", "No authorization with this id.")
    trail.patient_id = row["patient_id"]
    return _out(row)


class VisitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visits: int = Field(default=1, ge=1, le=100)


@router.post("/{authorization_id}/visits", response_model=AuthorizationOut, summary="Record visits used")
async def use_visits(
    authorization_id: Annotated[uuid.UUID, Path()],
    body: VisitsIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("authorization", "update", require_scopes("eligibility:write"))],
) -> AuthorizationOut:
    trail.resource_id = str(authorization_id)
    async with session.begin():
        row = (
            (
                await session.execute(
                    text(
                        "UPDATE authorizations SET visits_used = visits_used + :n WHERE id = :id "  # noqa: S608
                        "AND (visits_allowed IS NULL OR visits_used + :n <= visits_allowed) "
                        f"RETURNING {_COLUMNS}"
                    ),
                    {"id": authorization_id, "n": body.visits},
                )
            )
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise ProblemError(
            409,
            "conflict",
            "Visits not recorded",
            "No such authorization, or it has not that many visits left.",
        )
    trail.patient_id = row["patient_id"]
    return _out(row)


# --- authorization.expiring --------------------------------------------------------------

_DUE = text(
    "SELECT id, patient_id, payer_id, end_date, visits_allowed, visits_used, "
    "(end_date - CAST(:today AS date)) AS days_left FROM authorizations a WHERE end_date >= :today AND ("
    " (end_date - CAST(:today AS date) <= :days AND NOT EXISTS (SELECT 1 FROM authorization_alerts x "
    "   WHERE x.authorization_id = a.id AND x.threshold = 'days'))"
    " OR (visits_allowed IS NOT NULL AND visits_allowed - visits_used <= :visits AND NOT EXISTS ("
    "   SELECT 1 FROM authorization_alerts x WHERE x.authorization_id = a.id AND x.threshold = 'visits'))"
    ") ORDER BY end_date LIMIT 500"
)


async def alert_step(app: FastAPI, today: date | None = None) -> int:
    """Publish the expiring alerts that are due; returns how many went out."""
    settings = runtime(app).settings
    db: Database = app.state.db
    today = today or datetime.now(UTC).date()
    sent = 0
    async with db.session() as session, session.begin():
        rows = (
            await session.execute(
                _DUE,
                {
                    "today": today,
                    "days": settings.authorization_expiring_days,
                    "visits": settings.authorization_visits_threshold,
                },
            )
        ).mappings()
        for row in list(rows):
            visits_left = (
                None if row["visits_allowed"] is None else row["visits_allowed"] - row["visits_used"]
            )
            thresholds = []
            if row["days_left"] <= settings.authorization_expiring_days:
                thresholds.append("days")
            if visits_left is not None and visits_left <= settings.authorization_visits_threshold:
                thresholds.append("visits")
            for threshold in thresholds:
                claimed = (
                    await session.execute(
                        text(
                            "INSERT INTO authorization_alerts (authorization_id, threshold) VALUES (:id, :t) "
                            "ON CONFLICT DO NOTHING RETURNING authorization_id"
                        ),
                        {"id": row["id"], "t": threshold},
                    )
                ).first()
                if claimed is None:
                    continue
                add_event(
                    session,
                    new_event(
                        AuthorizationExpiring(
                            authorization_id=row["id"],
                            patient_id=row["patient_id"],
                            payer_id=row["payer_id"],
                            end_date=row["end_date"],
                            days_left=row["days_left"],
                            visits_left=visits_left,
                        ),
                        source=SOURCE,
                    ),
                )
                sent += 1
    return sent


async def alert_worker(app: FastAPI) -> None:
    await alert_step(app)
