"""The ops page and the JSON it reads.

`GET /ops` is the page: plain HTML, CSS and JavaScript served from this package (nothing from
another origin, enforced by its Content-Security-Policy). It holds no data: the operator pastes
a bearer token (kept in the tab's sessionStorage), and the page's script calls the JSON routes
below with it. Those check the token here (ops:read, ops:replay for actions) and forward it to
every service, which checks and audits it again.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Literal

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from services.ops.console import usecases
from services.ops.console.schemas import ConsoleDeadLetter, DeadLetters, Discard, Overview
from services.ops.settings import ops_settings
from shared.auth import Principal, require_scopes
from shared.problems import PROBLEM_JSON, ProblemError
from shared.templates import add_template_dir, template

TEMPLATES = Path(__file__).resolve().parent / "templates"
add_template_dir("ops", TEMPLATES)  # once, at import (as every sub-domain with templates)

page = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/v1/console", tags=["console"])

ReadOps = Annotated[Principal, require_scopes("ops:read")]
ReplayOps = Annotated[Principal, require_scopes("ops:replay")]

# The page loads only its own script and style sheet and talks only to this origin; no inline
# script can run, so a value a service returns cannot become code on the operator's screen.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ASSETS = {"ops.js": "text/javascript", "ops.css": "text/css"}


def console_of(request: Request) -> usecases.Console:
    """The services and the operator's token, for one request (after its scopes were checked)."""
    settings = ops_settings(request.app)
    return usecases.Console(
        client=request.app.state.services_client,
        services=settings.services(),
        authorization=request.headers.get("authorization", ""),
        timeout_seconds=settings.timeout_seconds,
        dead_letter_limit=settings.dead_letter_limit,
    )


ConsoleDep = Annotated[usecases.Console, Depends(console_of)]


def known_service(service: str, request: Request) -> str:
    """A service the console watches (404 otherwise: it never calls an address it was handed)."""
    if service not in ops_settings(request.app).services():
        raise ProblemError(
            404, "not-found", "No such service", f"The console watches no service {service!r}."
        )
    return service


ServiceName = Annotated[str, Depends(known_service)]


@page.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/ops")


@page.get("/ops", response_class=HTMLResponse)
async def ops_page(request: Request) -> HTMLResponse:
    services = list(ops_settings(request.app).services())
    return HTMLResponse(template("ops/ops.html").render(services=services), headers=PAGE_HEADERS)


@page.get("/ops/assets/{name}")
def asset(name: Literal["ops.js", "ops.css"]) -> Response:
    """The page's script and style sheet, from this package (a sync route: a small file read)."""
    return Response((TEMPLATES / name).read_bytes(), media_type=ASSETS[name], headers=PAGE_HEADERS)


@router.get(
    "/overview", response_model=Overview, summary="Every service's health, lag, outbox and stuck work"
)
async def overview(_: ReadOps, console: ConsoleDep) -> Overview:
    return await usecases.overview(console)


@router.get("/dead-letters", response_model=DeadLetters, summary="Every service's dead letters, newest first")
async def dead_letters(_: ReadOps, console: ConsoleDep) -> DeadLetters:
    return await usecases.dead_letters(console)


def answered(service: str, resp: httpx.Response) -> ConsoleDeadLetter | JSONResponse:
    """The service's answer to an action: the letter as it is now, or its problem document
    passed on as it is (403 without ops:replay there, 409 discarded, 410 gone, ...)."""
    body = usecases.body_of(resp)
    if resp.status_code == 200 and body is not None:
        return ConsoleDeadLetter.model_validate({**body, "service": service})
    if body is None:
        raise ProblemError(
            502, "bad-gateway", "Unexpected answer", f"{service} answered HTTP {resp.status_code}."
        )
    return JSONResponse(body, status_code=resp.status_code, media_type=PROBLEM_JSON)


def unreachable(service: str, exc: usecases.Unreachable) -> ProblemError:
    return ProblemError(
        503, "service-unreachable", "Service unreachable", f"{service}: {exc}; try again.", retryable=True
    )


@router.post(
    "/dead-letters/{service}/{letter_id}/replay",
    response_model=ConsoleDeadLetter,
    summary="Replay one dead letter in one service (needs ops:replay there too)",
)
async def replay(
    _: ReplayOps, console: ConsoleDep, service: ServiceName, letter_id: uuid.UUID
) -> ConsoleDeadLetter | JSONResponse:
    try:
        return answered(service, await usecases.replay(console, service, letter_id))
    except usecases.Unreachable as exc:
        raise unreachable(service, exc) from None


@router.post(
    "/dead-letters/{service}/{letter_id}/discard",
    response_model=ConsoleDeadLetter,
    summary="Give one dead letter up in one service, saying why (needs ops:replay there too)",
)
async def discard(
    _: ReplayOps, console: ConsoleDep, service: ServiceName, letter_id: uuid.UUID, body: Discard
) -> ConsoleDeadLetter | JSONResponse:
    try:
        return answered(service, await usecases.discard(console, service, letter_id, body.reason))
    except usecases.Unreachable as exc:
        raise unreachable(service, exc) from None
