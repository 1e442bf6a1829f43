"""`GET /v1/ops/overview`: one service's operational state in one JSON, what the ops page shows
per service (issue 16, item 8; the contract is in docs/runbook-stuck-work.md).

Mounted by every service (shared.app), `ops:read`, audited (resource type `ops_overview`). It
answers even when a dependency is away: the health part then says so, and consumer lag is
null with the reason, rather than the route failing when an operator needs it most.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared import stuckwork
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.health import readiness
from shared.kafka import consumer_lag, kafka_access

router = APIRouter(prefix="/v1/ops", tags=["operations"])
ReadOverview = Annotated[AuditTrail, audited("ops_overview", "read", require_scopes("ops:read"))]


class ConsumerLag(BaseModel):
    group: str
    topic: str
    lag: int | None = Field(
        description="Records past the group's committed offsets; null when Kafka cannot say."
    )
    error: str | None = Field(default=None, description="Only when `lag` is null: why (the error type).")


class Outbox(BaseModel):
    backlog: int | None = Field(description="Unpublished events; null when the database cannot be read.")
    oldest_age_seconds: float | None = Field(
        description="Age of the oldest unpublished event; null when none."
    )


class TopicDeadLetters(BaseModel):
    topic: str
    count: int = Field(description="Parked dead letters of this topic (waiting for replay or discard).")
    newest_age_seconds: float | None


class StuckQueue(BaseModel):
    queue: str
    count: int
    oldest_age_seconds: float | None
    state: str = Field(description="`ok` or `warn` (over its threshold); see docs/runbook-stuck-work.md.")


class Overview(BaseModel):
    service: str
    health: dict[str, Any] = Field(description="The /health/ready body (application/health+json).")
    consumers: list[ConsumerLag]
    outbox: Outbox
    dead_letters: list[TopicDeadLetters]
    stuck_work: list[StuckQueue]


async def _consumers(app: FastAPI) -> list[dict[str, Any]]:
    """Lag per consumed topic of the service's group, bounded by the health timeout."""
    group: str = app.state.dead_letter_group
    topics: list[str] = list(app.state.dead_letter_topics)
    if not topics:
        return []
    settings = app.state.settings
    try:
        lag = await consumer_lag(
            kafka_access(settings), group, topics, timeout=settings.health_timeout_seconds
        )
    except Exception as exc:  # Kafka away or slow: say so, answer the rest
        why = f"Kafka did not answer ({type(exc).__name__})"
        return [{"group": group, "topic": t, "lag": None, "error": why} for t in topics]
    return [{"group": group, "topic": t, "lag": lag[t]} for t in topics]


def _outbox(health: dict[str, Any]) -> dict[str, Any]:
    """The outbox part, from readiness's own backlog check (no second query)."""
    checks = health["checks"]
    backlog = checks["outbox:backlog"][0].get("observedValue")
    age = checks.get("outbox:oldestAge", [{}])[0].get("observedValue")
    return {"backlog": backlog, "oldest_age_seconds": age if backlog else None}


@router.get(
    "/overview",
    response_model=Overview,
    summary="This service's health, consumer lag, outbox, dead letters and stuck work (the ops page)",
)
async def overview(request: Request, trail: ReadOverview) -> JSONResponse:
    app = request.app
    trail.resource_id = app.state.service
    (_, health), consumers, snapshot = await asyncio.gather(
        readiness(app), _consumers(app), stuckwork.current(app)
    )
    body = {
        "service": app.state.service,
        "health": health,
        "consumers": consumers,
        "outbox": _outbox(health),
        "dead_letters": [t.public() for t in snapshot.dead_letters],
        "stuck_work": [r.public() for r in snapshot.readings.values()],
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
