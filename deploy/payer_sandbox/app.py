"""The sandbox's HTTP face: POST /x12/270 answers a 271; /health, /stats, /scenarios.

Routes stay thin: the eligibility decision lives in eligibility.py, the clearinghouse's file
desk in filedesk.py. The app owns the SFTP mailbox and its desk (started in the lifespan), so
`uvicorn deploy.payer_sandbox.main:app` is the whole partner. It has no Kafka side for claims:
they come as 837 files and every answer is a file (the EHR publisher is `make ehr`, ehr.py).
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

log = logging.getLogger("payer_sandbox")

X12_MEDIA_TYPE = "application/edi-x12"
PROBLEM_JSON = "application/problem+json"
DELAY_HEADER = "X-Sandbox-Delay-Ms"
HEALTH_JSON = "application/health+json"


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
    claims: dict[str, Any] = Field(default_factory=dict, description="The file desk's claim counters.")


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
        files = None
        try:
            if config.mailbox:
                from deploy.payer_sandbox.filedesk import Files

                claimstatus.install()  # batch 276 files -> 277 files (claimstatus.py)
                files = await Files.start(config, tables)
                for user in getattr(app.state, "mailbox_users", []):
                    files.mailbox.add_user(user)
            app.state.files = files
            yield
        finally:
            if files is not None:
                await files.stop()

    app = FastAPI(
        title="Payer sandbox",
        version="1.0.0",
        description=(
            "A partner system for development and tests: payers answering X12 270 eligibility "
            "inquiries with 271s from a documented scenario table (keyed by member id), and a "
            "clearinghouse with an SFTP mailbox turning 837P files into TA1, 999, 277CA and 835 "
            "files. See docs/payer_sandbox.md."
        ),
        lifespan=lifespan,
    )
    app.state.config = config
    app.include_router(claimstatus.router)  # POST /x12/276 (deploy/payer_sandbox/claimstatus.py)
    app.state.tables = tables
    app.state.stats = stats
    app.state.files = None

    @app.get(
        "/health",
        tags=["operations"],
        summary="Readiness: the HTTP side answers, and (when configured) where the mailbox listens",
    )
    async def health() -> JSONResponse:
        body: dict[str, Any] = {"status": "pass"}
        files = app.state.files
        if files is not None:
            body["mailbox"] = {"sftp_port": files.mailbox.port, "users": len(files.mailbox.users)}
        return JSONResponse(body, media_type=HEALTH_JSON)

    @app.get("/health/ready", tags=["operations"], include_in_schema=False)
    async def ready() -> JSONResponse:
        return await health()

    @app.get("/health/live", tags=["operations"], include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "pass"}

    @app.get("/stats", tags=["operations"], response_model=StatsView, summary="Request and claim counts")
    async def get_stats() -> StatsView:
        files = app.state.files
        return StatsView(
            total=stats.total,
            by_member=dict(stats.by_member),
            by_outcome=dict(stats.by_outcome),
            claims=files.desk.clearinghouse.counters() if files is not None else {},
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
