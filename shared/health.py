"""Honest health: liveness checks nothing, readiness checks what the service needs.

`/health/ready` answers in the shape of the IETF "Health Check Response Format for HTTP
APIs" draft (application/health+json): status pass/warn/fail and a `checks` map. It is
503 when PostgreSQL or Kafka is unreachable; a growing outbox backlog only warns, because
the service still accepts work and will publish it once Kafka is back. A background loop
(relay, consumer, worker) that keeps failing adds `<name>:state` saying since when and why
("database unreachable since ..."): fail while a dependency is away (the consumer is paused,
nothing is dead-lettered meanwhile), warn when the loop itself fails. Stuck work
(shared.stuckwork) adds `stuck:<queue>` warnings from its last background round; it never
fails readiness, and readiness never runs its queries.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from shared import stuckwork
from shared.kafka import broker_reachable, kafka_access
from shared.outbox import backlog

HEALTH_JSON = "application/health+json"
OUTBOX_WARN_AGE_SECONDS = 60.0

router = APIRouter(tags=["operations"])


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def _database(app: FastAPI, timeout: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    db = app.state.db
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout), db.session() as session:
            await session.execute(text("SELECT 1"))
            state = await backlog(session)
    except Exception as exc:
        failed = {
            "componentType": "datastore",
            "status": "fail",
            "time": _now(),
            "output": f"PostgreSQL unreachable ({type(exc).__name__})",
        }
        return failed, [
            {
                "componentType": "component",
                "status": "warn",
                "time": _now(),
                "output": "outbox unknown: database unreachable",
            }
        ]
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    age = round(state.oldest_age_seconds, 1)
    return (
        {
            "componentType": "datastore",
            "status": "pass",
            "observedValue": elapsed_ms,
            "observedUnit": "ms",
            "time": _now(),
        },
        [
            {
                "componentId": "backlog",
                "componentType": "component",
                "status": "pass",
                "observedValue": state.pending,
                "observedUnit": "events",
                "time": _now(),
            },
            {
                "componentId": "oldestAge",
                "componentType": "component",
                "status": "warn" if age > OUTBOX_WARN_AGE_SECONDS else "pass",
                "observedValue": age,
                "observedUnit": "s",
                "time": _now(),
            },
        ],
    )


async def _kafka(app: FastAPI, timeout: float) -> dict[str, Any]:
    settings = app.state.settings
    started = time.perf_counter()
    problem = await broker_reachable(kafka_access(settings), timeout)
    if problem:
        return {
            "componentType": "component",
            "status": "fail",
            "time": _now(),
            "output": f"Kafka unreachable ({problem})",
        }
    return {
        "componentType": "component",
        "status": "pass",
        "time": _now(),
        "observedValue": round((time.perf_counter() - started) * 1000, 1),
        "observedUnit": "ms",
    }


def _background(app: FastAPI) -> dict[str, list[dict[str, Any]]]:
    """The relay's, the consumer's and the workers' outages, while they last."""
    return {
        f"{name}:state": [
            {
                "componentType": "component",
                "status": "fail" if outage.transient else "warn",
                "time": _now(),
                "output": outage.describe(),
            }
        ]
        for name, outage in getattr(app.state, "outages", {}).items()
        if outage.active
    }


def _overall(checks: dict[str, list[dict[str, Any]]]) -> str:
    statuses = {c["status"] for entries in checks.values() for c in entries}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"


@router.get("/health/live", summary="Liveness: the process answers (checks no dependency)")
async def live(request: Request) -> JSONResponse:
    return JSONResponse({"status": "pass", "serviceId": request.app.state.service}, media_type=HEALTH_JSON)


@router.get(
    "/health/ready",
    summary="Readiness: PostgreSQL, Kafka, the outbox backlog and stuck work (warn)",
    responses={200: {"description": "pass or warn"}, 503: {"description": "a dependency is down"}},
)
async def ready(request: Request) -> JSONResponse:
    status_code, body = await readiness(request.app)
    return JSONResponse(
        body, status_code=status_code, media_type=HEALTH_JSON, headers={"Cache-Control": "no-store"}
    )


async def readiness(app: FastAPI) -> tuple[int, dict[str, Any]]:
    """The readiness answer (status code, health+json body): the route's, and the ops
    overview's `health`."""
    checks = await _dependencies(app) if app.state.db is not None else {}
    checks.update(_background(app))
    checks.update(stuckwork.checks(app))
    status = _overall(checks)
    body = {
        "status": status,
        "serviceId": app.state.service,
        "version": "1",
        "releaseId": app.version,
        "checks": checks,
    }
    return (503 if status == "fail" else 200), body


async def _dependencies(app: FastAPI) -> dict[str, list[dict[str, Any]]]:
    """PostgreSQL, Kafka and the outbox (a service without a database, the ops console, has
    none of them)."""
    timeout = app.state.settings.health_timeout_seconds
    (db_check, outbox_checks), kafka_check = await asyncio.gather(
        _database(app, timeout), _kafka(app, timeout)
    )
    checks = {
        "postgresql:responseTime": [db_check],
        "kafka:connection": [kafka_check],
        "outbox:backlog": [outbox_checks[0]],
    }
    if len(outbox_checks) > 1:
        checks["outbox:oldestAge"] = [outbox_checks[1]]
    return checks
