"""The FastAPI app factory every service uses.

A service describes itself (name, routers, event handlers); the factory adds the rest the
same way for all four: settings, database, outbox relay, consumers, health, metrics,
AsyncAPI, JSON logs, correlation, problem+json errors, authentication and audit routes, the
dead-letter routes, stuck-work probes and the ops overview.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import audit, audit_chain, context, metrics, stuckwork
from shared.auth import TokenVerifier, require_scopes
from shared.config import Settings, get_settings
from shared.consumer import Batched, EventConsumer, Handler
from shared.db import Database, SessionDep
from shared.deadletters.api import router as dead_letters_router
from shared.events.asyncapi import document as asyncapi_document
from shared.events.signing import required_keys
from shared.health import router as health_router
from shared.inputs import InputGuard, bound_openapi
from shared.kafka import kafka_access
from shared.limits import Limits, limit_openapi
from shared.logging import configure_logging
from shared.outbox import OutboxRelay
from shared.overview import router as overview_router
from shared.problems import CatchAll, Problem, install_problem_handlers
from shared.retry import Outage, run_forever
from shared.secret_checks import SecretProblems, refuse_unsafe

log = logging.getLogger(__name__)


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {"application/problem+json": {}}}


# What any /v1 route may answer besides its own successes, as problem+json: listed on every
# route, so the OpenAPI documents name every status a client can see (a fuzzer checks this).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("The body is not valid JSON."),
    401: _problem("Missing or invalid bearer token."),
    403: _problem("The token lacks a required scope."),
    404: _problem("No such record (or not yours to see)."),
    409: _problem("The request conflicts with the record's state or an earlier request."),
    413: _problem("The body is larger than this route accepts."),
    415: _problem("The body's Content-Type is not one this route reads."),
    422: _problem(
        "The request broke a rule; `errors` names each field and the rule (text without NUL "
        "characters, integers and dates within the documented bounds, ...), never the value."
    ),
    429: _problem("Too many requests; retry after the Retry-After header's seconds."),
}


@dataclass
class ServiceDefinition:
    """What makes one service different from the others."""

    name: str
    title: str
    description: str
    routers: list[APIRouter] = field(default_factory=list)
    handlers: dict[str, Handler | Batched] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    # Per-service resources (HTTP clients, senders, caches): made on enter, closed on exit, kept
    # on app.state. Entered after the database is ready and before any consumer or worker starts,
    # left after they stopped, so no module-level cache or placeholder worker is needed.
    lifespan: Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]] | None = None
    # Queues of stuck work (shared.stuckwork.Probe): readiness warns, /metrics and the ops
    # overview count them. Dead letters are watched for every service without declaring them.
    stuck_work: list[stuckwork.Probe] = field(default_factory=list)
    # False for a service that keeps no state of its own (the ops console, which only calls the
    # other services over HTTP): no database, outbox relay, consumer, stuck-work round, audit or
    # overview route, and readiness checks no datastore. It may have no handlers, workers or
    # stuck-work probes then.
    database: bool = True
    # The service's own secrets (given whether development mode is on, the problems found):
    # checked with the token key and the database login before the app is built.
    secret_problems: SecretProblems | None = None


@dataclass(frozen=True)
class Worker:
    """Background work a service repeats while it runs (schedulers, batch runners, retries).

    `step(app)` does one round and returns; the factory calls it every `every_seconds`, and
    through `run_forever` a failing round is logged by type and retried with backoff instead
    of killing the loop. Steps must be safe to run on several replicas at once (take a row
    lock or an advisory lock), because every replica runs them.
    """

    name: str
    step: Callable[[FastAPI], Awaitable[None]]
    every_seconds: float = 1.0


VerifyTrail = Annotated[audit.AuditTrail, audit.audited("audit_chain", "verify", require_scopes("ops:read"))]


def _audit_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["audit"], responses=PROBLEM_RESPONSES)

    @router.get(
        "/audit",
        summary="Who read or changed which record (HIPAA audit trail)",
        description="Newest first. `patient_id` finds every entry that touched the patient, bulk reads "
        "included; for the next page pass the last entry's id as `before`.",
        response_model=list[audit.AuditEntry],
    )
    async def list_audit(
        session: SessionDep,
        trail: Annotated[audit.AuditTrail, audit.audited("audit_log", "read", require_scopes("ops:read"))],
        resource_type: Annotated[str | None, Query(max_length=64)] = None,
        resource_id: Annotated[str | None, Query(max_length=128)] = None,
        patient_id: Annotated[str | None, Query(max_length=128)] = None,
        actor: Annotated[str | None, Query(max_length=256)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    ) -> list[audit.AuditEntry]:
        trail.patient_id = patient_id
        return await audit.query(
            resource_type=resource_type,
            resource_id=resource_id,
            patient_id=patient_id,
            actor=actor,
            limit=limit,
            before=before,
            session=session,
        )

    @router.get(
        "/ops/audit-chain",
        summary="Verify this service's audit hash chain (names every edited, deleted or inserted row)",
        tags=["operations"],
    )
    async def verify_audit_chain(
        request: Request,
        trail: Annotated[
            audit.AuditTrail, audit.audited("audit_chain", "verify", require_scopes("ops:read"))
        ],
    ) -> dict[str, Any]:
        db: Database = request.app.state.db
        conn = await db.connect_raw()  # a scan of the whole table, off the request pool
        try:
            report = await audit_chain.verify(conn, db.schema)
        finally:
            await conn.close()
        return {
            "ok": report.ok,
            "rows": report.rows,
            "head": {"seq": report.head_seq, "hash": report.head_hash},
            "breaks": [asdict(b) for b in report.breaks],
        }

    return router


async def _repeat(app: FastAPI, worker: Worker, outage: Outage) -> None:
    async def step() -> None:
        await worker.step(app)
        await asyncio.sleep(worker.every_seconds)

    async def recover() -> None:
        return None

    await run_forever(
        step,
        what=f"worker {worker.name}",
        recover=recover,
        first_delay=worker.every_seconds,
        max_delay=30.0,
        outage=outage,
    )


Runner = tuple[str, Callable[[], Awaitable[None]]]
CallNext = Callable[[Request], Awaitable[Response]]


def _background(
    app: FastAPI, definition: ServiceDefinition, settings: Settings, db: Database
) -> tuple[list[Runner], list[Any]]:
    """The outbox relay, the consumer (when the service handles events) and the workers: the
    tasks to start, and the clients to close after they stopped. Each loop's Outage is on
    `app.state.outages` by name, for readiness."""
    relay = OutboxRelay(
        db,
        kafka_access(settings),
        service=definition.name,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
    )
    app.state.relay = relay
    app.state.consumer = None
    app.state.outages = {"outbox-relay": relay.outage}
    runners: list[Runner] = [("outbox-relay", relay.run)]
    closers: list[Any] = [relay]
    if definition.handlers:
        consumer = EventConsumer(
            db,
            kafka_access(settings),
            service=definition.name,
            handlers=definition.handlers,
            group_id=settings.consumer_group_prefix + definition.name,
            batch_size=settings.consumer_batch_size,
            max_attempts=settings.consumer_max_attempts,
            retry_base_seconds=settings.consumer_retry_base_seconds,
            pause_max_seconds=settings.consumer_pause_max_seconds,
            # No key for a partner it hears from: the service refuses to start, saying why.
            partner_keys=required_keys(settings.partner_keys_dir, list(definition.handlers)),
        )
        app.state.consumer = consumer
        app.state.outages["consumer"] = consumer.outage
        runners.append(("consumer", consumer.run))
        closers.append(consumer)
    # Stuck work is counted in the background, so readiness and /metrics never run its queries.
    watch = Worker("stuck-work", stuckwork.step, every_seconds=settings.stuck_work_every_seconds)
    for worker in [*definition.workers, watch]:
        outage = app.state.outages[worker.name] = Outage()
        runners.append((worker.name, lambda w=worker, o=outage: _repeat(app, w, o)))
    return runners, closers


def _lifespan(
    definition: ServiceDefinition, settings: Settings
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Start order: database, the service's own resources, then relay, consumer and workers;
    stop in reverse, so no background task ever sees a closed sender or pool."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(definition.name, settings.log_level)
        if not definition.database:
            app.state.db = None
            async with contextlib.AsyncExitStack() as resources:
                if definition.lifespan is not None:
                    await resources.enter_async_context(definition.lifespan(app))
                log.info("service started")
                yield
            log.info("service stopped")
            return
        db = Database.from_settings(definition.name, settings)
        app.state.db = db
        async with contextlib.AsyncExitStack() as resources:
            resources.push_async_callback(db.dispose)
            if definition.lifespan is not None:
                await resources.enter_async_context(definition.lifespan(app))
            runners, closers = _background(app, definition, settings, db)
            for client in closers:
                resources.push_async_callback(client.close)
            tasks = [asyncio.create_task(run(), name=f"{definition.name}-{name}") for name, run in runners]
            log.info("service started")
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        log.info("service stopped")

    return lifespan


def _observe(service: str) -> Callable[[Request, CallNext], Awaitable[Response]]:
    """Correlation, metrics and one log line per request (route template only: never a path
    with ids in it, never a body)."""

    async def observe(request: Request, call_next: CallNext) -> Response:
        ctx = context.start(request.headers.get("x-correlation-id"), request.headers.get("traceparent"))
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            metrics.HTTP_REQUESTS.labels(service, request.method, template, str(status)).inc()
            metrics.HTTP_LATENCY.labels(service, request.method, template).observe(elapsed)
            if not template.startswith(("/health", "/metrics")):
                log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                    },
                )
        response.headers["X-Correlation-Id"] = ctx.correlation_id
        response.headers["traceparent"] = ctx.traceparent
        return response

    return observe


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=True)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi", summary="AsyncAPI 3.0 document of every event and topic")
    async def asyncapi() -> JSONResponse:
        return JSONResponse(asyncapi_document())

    return router


def _bounded_openapi(app: FastAPI, settings: Settings) -> None:
    """The app's OpenAPI document with the storage bounds of shared.inputs and the body and
    rate limits of shared.limits, which InputGuard and Limits enforce: what clients read is
    what the service checks."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = limit_openapi(bound_openapi(FastAPI.openapi(app)), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(definition: ServiceDefinition, settings: Settings | None = None) -> FastAPI:
    """Build a service's app; background work starts with the app's lifespan. Refuses
    (RefusedToStart, exit 1) when a secret is missing or a development value outside
    development mode, before anything else happens."""
    settings = settings or get_settings()
    refuse_unsafe(definition.name, settings, database=definition.database, own=definition.secret_problems)
    if not definition.database and (definition.handlers or definition.workers or definition.stuck_work):
        raise ValueError(f"{definition.name}: handlers, workers and stuck work need the service's database")
    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version="1.0.0",
        lifespan=_lifespan(definition, settings),
        openapi_tags=[
            *definition.tags,
            {"name": "audit", "description": "HIPAA audit trail (ops:read)."},
            {
                "name": "dead letters",
                "description": "Events this service could never handle: list and show (ops:read), replay "
                "or discard (ops:replay). See docs/runbook-dead-letters.md.",
            },
            {
                "name": "operations",
                "description": "Health, metrics, the event contract and the ops overview (ops:read; "
                "docs/runbook-stuck-work.md).",
            },
        ],
    )
    app.state.service = definition.name
    app.state.settings = settings
    app.state.outages = {}
    # Its consumer group's dead letters, on the dead-letter topics of what it consumes.
    app.state.dead_letter_group = settings.consumer_group_prefix + definition.name
    app.state.dead_letter_topics = list(definition.handlers)
    app.state.stuck_probes = stuckwork.probes_of(
        definition.name, definition.stuck_work, app.state.dead_letter_group, app.state.dead_letter_topics
    )
    app.state.verifier = TokenVerifier(settings)
    install_problem_handlers(app)
    _bounded_openapi(app, settings)
    # Innermost first: the input guard; the rate and body limits before it reads a body; the
    # catch-all that turns any exception into a PHI-safe log line and a 500 problem; then
    # correlation and metrics around them all.
    app.add_middleware(InputGuard, document=app.openapi)
    app.add_middleware(Limits, settings=settings, verifier=app.state.verifier, document=app.openapi)
    app.add_middleware(CatchAll)
    app.middleware("http")(audit.record_refusals)  # inside _observe: the correlation id is set
    app.middleware("http")(_observe(definition.name))
    app.include_router(health_router)
    app.include_router(_operations_router())
    for router in definition.routers:
        app.include_router(router, responses=PROBLEM_RESPONSES)
    if definition.database:
        app.include_router(_audit_router())
        app.include_router(overview_router, responses=PROBLEM_RESPONSES)
    if definition.handlers:
        app.include_router(dead_letters_router, responses=PROBLEM_RESPONSES)
    return app
