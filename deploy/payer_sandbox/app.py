"""The sandbox's HTTP face: POST /x12/270 answers a 271; /health, /stats, /scenarios.

Routes stay thin: the eligibility decision lives in eligibility.py, the claim pipeline in
pipeline.py. The app owns the pipeline's lifetime (launched in the lifespan when Kafka is
configured; it joins in the background, retrying while the broker is away, so eligibility
answers meanwhile), so `uvicorn deploy.payer_sandbox.main:app` is the whole partner. /health
checks Kafka when the pipeline needs it: 503 while the broker does not answer.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from deploy.payer_sandbox import claimstatus, eligibility
from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.data import Tables, default_tables, scenario_table
from shared import x12
from shared.kafka import KafkaAccess, broker_reachable

log = logging.getLogger("payer_sandbox")

X12_MEDIA_TYPE = "application/edi-x12"
PROBLEM_JSON = "application/problem+json"
DELAY_HEADER = "X-Sandbox-Delay-Ms"
HEALTH_JSON = "application/health+json"
HEALTH_TIMEOUT_SECONDS = 2.0


class Stats:
    """Request counts, so tests can see whether (and how often) the payer was called."""

    def __init__(self) -> None:
        self.reset()

    def record(self, member_id: str, outcome: str) -> None:
        self.total += 1
        self.by_member[member_id or "(missing)"] += 1
        self.by_outcome[outcome] += 1

    def reset(self) -> None:
        self.total = 0
        self.by_member: Counter[str] = Counter()
        self.by_outcome: Counter[str] = Counter()


class StatsView(BaseModel):
    total: int = Field(description="270 requests received since start or the last reset.")
    by_member: dict[str, int] = Field(description="Requests per member id ('(missing)' when absent).")
    by_outcome: dict[str, int] = Field(description="active | inactive | error | http_error | bad_request.")
    claims: dict[str, Any] = Field(default_factory=dict, description="Claim pipeline counters.")


async def _kafka_check(kafka: KafkaAccess) -> dict[str, Any]:
    """The shared broker check (a fresh metadata request), in the health response format."""
    problem = await broker_reachable(kafka, HEALTH_TIMEOUT_SECONDS)
    at = datetime.now(UTC).isoformat()
    if problem:
        return {
            "componentType": "component",
            "status": "fail",
            "time": at,
            "output": f"Kafka unreachable ({problem})",
        }
    return {"componentType": "component", "status": "pass", "time": at}


async def _health(config: SandboxConfig, pipeline: Any) -> dict[str, Any]:
    """The health body: with the claim pipeline configured, Kafka and the consumer. It is not
    ready until it consumes: a claim published before the group has its partitions could
    otherwise be missed by a new group that starts at "latest"."""
    body: dict[str, Any] = {"status": "pass", "claims_pipeline": "off"}
    if config.kafka is None or config.claims_transport != "kafka":
        return body
    status = pipeline.status if pipeline is not None else "starting"
    kafka = await _kafka_check(config.kafka)
    consuming = {
        "componentType": "component",
        "status": "pass" if status == "running" else "fail",
        "time": kafka["time"],
        "output": status,
    }
    body["claims_pipeline"] = status
    body["checks"] = {"kafka:connection": [kafka], "claims:consumer": [consuming]}
    body["status"] = "pass" if kafka["status"] == consuming["status"] == "pass" else "fail"
    if pipeline is not None:
        body["store"] = pipeline.store.path
    return body


def _problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def create_app(config: SandboxConfig | None = None, tables: Tables | None = None) -> FastAPI:
    config = config or SandboxConfig.from_env()
    tables = tables or default_tables()
    stats = Stats()
    control_numbers = itertools.count(1)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pipeline = files = None
        if config.kafka is not None and config.claims_transport == "kafka":
            from deploy.payer_sandbox.pipeline import ClaimPipeline

            pipeline = ClaimPipeline(config, tables, accept=getattr(app.state, "accept", None))
            pipeline.launch()
        app.state.pipeline = pipeline
        try:
            if config.mailbox_on:
                from deploy.payer_sandbox.filedesk import Files

                claimstatus.install()  # batch 276 files -> 277 files (claimstatus.py)
                files = await Files.start(config, tables, pipeline)
                for user in getattr(app.state, "mailbox_users", []):
                    files.mailbox.add_user(user)
            app.state.files = files
            yield
        finally:
            if files is not None:
                await files.stop()
            if pipeline is not None:
                await pipeline.stop()

    app = FastAPI(
        title="Payer sandbox",
        version="1.0.0",
        description=(
            "A partner system for development and tests: payers answering X12 270 eligibility "
            "inquiries with 271s from a documented scenario table (keyed by member id), and a "
            "clearinghouse turning `claim.submitted` 837Ps into acknowledgments and 835 "
            "remittances on Kafka. See docs/payer_sandbox.md."
        ),
        lifespan=lifespan,
    )
    app.state.config = config
    app.include_router(claimstatus.router)  # POST /x12/276 (deploy/payer_sandbox/claimstatus.py)
    app.state.tables = tables
    app.state.stats = stats
    app.state.pipeline = None
    app.state.files = None

    @app.get(
        "/health",
        tags=["operations"],
        summary="Readiness: Kafka and the claim consumer (when the claim pipeline is configured)",
        responses={503: {"description": "Kafka does not answer, or the consumer has no partitions yet"}},
    )
    async def health() -> JSONResponse:
        body = await _health(config, app.state.pipeline)
        files = app.state.files
        if files is not None:
            body["mailbox"] = {"sftp_port": files.mailbox.port, "users": len(files.mailbox.users)}
        return JSONResponse(
            body, status_code=503 if body["status"] == "fail" else 200, media_type=HEALTH_JSON
        )

    @app.get("/health/ready", tags=["operations"], include_in_schema=False)
    async def ready() -> JSONResponse:
        return await health()

    @app.get("/health/live", tags=["operations"], include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "pass"}

    @app.get("/stats", tags=["operations"], response_model=StatsView, summary="Request and claim counts")
    async def get_stats() -> StatsView:
        pipeline, files = app.state.pipeline, app.state.files
        answering = pipeline or (files.desk if files is not None else None)
        return StatsView(
            total=stats.total,
            by_member=dict(stats.by_member),
            by_outcome=dict(stats.by_outcome),
            claims=answering.clearinghouse.counters() if answering is not None else {},
        )

    @app.get(
        "/mailbox/transfers",
        tags=["operations"],
        summary="Files open on the SFTP mailbox now: user, path, read or write, bytes so far",
        responses={404: {"content": {PROBLEM_JSON: {}}, "description": "The mailbox is not running."}},
    )
    async def transfers() -> JSONResponse:
        files = app.state.files
        if files is None:
            return _problem(404, "No mailbox", "The SFTP mailbox is not running in this sandbox.")
        return JSONResponse({"transfers": files.mailbox.transfers.snapshot()})

    @app.post("/stats/reset", tags=["operations"], status_code=204, summary="Zero the counters")
    async def reset_stats() -> Response:
        stats.reset()
        return Response(status_code=204)

    @app.get("/scenarios", tags=["eligibility"], summary="The scenario table (data/scenarios.json)")
    async def scenarios() -> dict[str, Any]:
        return scenario_table()

    @app.post(
        "/x12/270",
        tags=["eligibility"],
        summary="Answer an X12 005010X279A1 270 with a 271",
        response_class=Response,
        responses={
            200: {"content": {X12_MEDIA_TYPE: {}}, "description": "The 271 (may carry AAA rejections)."},
            400: {"content": {PROBLEM_JSON: {}}, "description": "Not a readable 270."},
            500: {"content": {PROBLEM_JSON: {}}, "description": "Scenario: the payer fails."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    X12_MEDIA_TYPE: {"schema": {"type": "string"}},
                    "text/plain": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def inquiry(request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", errors="replace")
        try:
            parsed = eligibility.parse_270(raw)
        except x12.X12Error as exc:
            stats.record("", "bad_request")
            return _problem(
                400, "Not a valid 270", exc.message, errors=[{"field": exc.pointer, "rule": "x12"}]
            )
        now = datetime.now(UTC).replace(tzinfo=None)
        result = eligibility.answer(
            parsed,
            tables,
            today=now.date(),
            now=now,
            control_number=next(control_numbers),
            slow_delay_ms=config.slow_delay_ms,
        )
        stats.record(parsed.member_id, result.outcome)
        delay_ms = result.delay_ms
        override = request.headers.get(DELAY_HEADER)
        if override and override.isdigit():
            delay_ms = int(override)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        if result.body is None:
            return _problem(
                result.http_status, "Payer system error", "The payer could not process the inquiry."
            )
        return Response(result.body, status_code=result.http_status, media_type=X12_MEDIA_TYPE)

    return app
