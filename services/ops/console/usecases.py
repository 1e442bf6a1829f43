"""Reading the services' operations routes and acting on their dead letters, over HTTP.

Each call goes to one service with the operator's own bearer token (so that service checks the
operator's scopes and audits the operator, not the console), the request's correlation id and
a child traceparent, and a timeout: a service that does not answer is shown as down, and the
others are still shown. The console never retries a replay or a discard by itself: the operator
sees the outcome and decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import ValidationError

from services.ops.console.schemas import (
    Check,
    ConsoleDeadLetter,
    DeadLetters,
    Overview,
    ServiceView,
    Source,
)
from services.ops.settings import ops_settings
from shared import context

OVERVIEW = "/v1/ops/overview"
READY = "/health/ready"
LETTERS = "/v1/ops/dead-letters"


@contextlib.asynccontextmanager
async def services_client(app: FastAPI) -> AsyncIterator[None]:
    """The console's lifespan resource: one pooled HTTP client for all six services.

    trust_env=False: calls between services never go through a proxy the environment names."""
    settings = ops_settings(app)
    timeout = httpx.Timeout(settings.timeout_seconds)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False) as client:
        app.state.services_client = client
        try:
            yield
        finally:
            del app.state.services_client


@dataclass(frozen=True)
class Console:
    """What one request of the console works with: the client, where the services are, and the
    operator's Authorization header to forward."""

    client: httpx.AsyncClient
    services: dict[str, str]
    authorization: str
    timeout_seconds: float
    dead_letter_limit: int


class Unreachable(Exception):
    """The service did not answer (refused the connection, timed out, reset)."""


async def call(console: Console, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to one service, as the operator, in the operator's trace."""
    ctx = context.current()
    headers = {
        "Authorization": console.authorization,
        "Accept": "application/json",
        "X-Correlation-Id": ctx.correlation_id,
        "traceparent": context.child_traceparent(ctx.traceparent),
    }
    try:
        return await console.client.request(
            method, console.services[service] + path, headers=headers, **kwargs
        )
    except httpx.TimeoutException:
        raise Unreachable(f"no answer within {console.timeout_seconds:g} s") from None
    except httpx.TransportError as exc:
        raise Unreachable(f"unreachable ({type(exc).__name__})") from None


def body_of(resp: httpx.Response) -> dict[str, Any] | None:
    """The JSON object a service answered, or None (an HTML error page from a proxy, ...)."""
    try:
        body = resp.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def refusal(resp: httpx.Response) -> str:
    """What a 401/403 problem document says, for the page."""
    body = body_of(resp) or {}
    return f"token refused (HTTP {resp.status_code}): {body.get('detail') or body.get('title') or ''}".strip()


def failing_checks(health: dict[str, Any]) -> list[Check]:
    """The readiness checks that are not passing: the reasons behind a warn or a fail."""
    found = []
    for name, entries in (health.get("checks") or {}).items():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("status") != "pass":
                found.append(
                    Check(
                        name=name,
                        status=str(entry.get("status")),
                        output=entry.get("output"),
                        observed=entry.get("observedValue"),
                    )
                )
    return found


def health_of(service: str, url: str, health: dict[str, Any], problem: str | None = None) -> ServiceView:
    status = health.get("status")
    return ServiceView(
        service=service,
        url=url,
        health=status if status in ("pass", "warn", "fail") else "unknown",
        problem=problem,
        checks=failing_checks(health),
    )


def view_of(service: str, url: str, body: dict[str, Any]) -> ServiceView:
    """A service's `/v1/ops/overview` answer (the issue-16 contract) as the console's view."""
    view = health_of(service, url, body.get("health") or {})
    try:
        return ServiceView.model_validate(
            {
                **view.model_dump(),
                "consumers": body.get("consumers") or [],
                "outbox": body.get("outbox"),
                "dead_letters": body.get("dead_letters") or [],
                "stuck_work": body.get("stuck_work") or [],
            }
        )
    except ValidationError as exc:
        view.problem = f"overview not in the expected shape ({exc.error_count()} errors)"
        return view


async def service_view(console: Console, service: str) -> ServiceView:
    """One service: its overview; when that is missing or failing, at least its readiness."""
    url = console.services[service]
    try:
        resp = await call(console, "GET", service, OVERVIEW)
        body = body_of(resp)
        if resp.status_code == 200 and body is not None:
            return view_of(service, url, body)
        if resp.status_code in (401, 403):
            return ServiceView(service=service, url=url, health="unknown", problem=refusal(resp))
        problem = (
            "no /v1/ops/overview in this version: readiness only"
            if resp.status_code == 404
            else f"overview unavailable (HTTP {resp.status_code}): readiness only"
        )
        ready = await call(console, "GET", service, READY)
        health = body_of(ready)
        if health is not None and "status" in health:
            return health_of(service, url, health, problem)
        down = "down" if ready.status_code >= 500 else "unknown"
        return ServiceView(
            service=service, url=url, health=down, problem=f"readiness HTTP {ready.status_code}"
        )
    except Unreachable as exc:
        return ServiceView(service=service, url=url, health="down", problem=str(exc))


async def overview(console: Console) -> Overview:
    """Every service at once: the slowest one bounds the answer (each call has its timeout)."""
    views = await asyncio.gather(*(service_view(console, s) for s in console.services))
    return Overview(generated_at=datetime.now(UTC), services=list(views))


async def letters_of(console: Console, service: str) -> tuple[list[ConsoleDeadLetter], Source]:
    """A service's newest dead letters in every state (what was replayed stays visible)."""
    params = {"status": "any", "limit": console.dead_letter_limit}
    try:
        resp = await call(console, "GET", service, LETTERS, params=params)
    except Unreachable as exc:
        return [], Source(service=service, listed=False, problem=str(exc))
    body = body_of(resp)
    if resp.status_code in (401, 403):
        return [], Source(service=service, listed=False, problem=refusal(resp))
    if resp.status_code != 200 or body is None:
        return [], Source(service=service, listed=False, problem=f"HTTP {resp.status_code}")
    items = [ConsoleDeadLetter.model_validate({**item, "service": service}) for item in body.get("items", [])]
    return items, Source(service=service, listed=True, index_current=body.get("index_current"))


async def dead_letters(console: Console) -> DeadLetters:
    """Every service's dead letters, newest first."""
    found = await asyncio.gather(*(letters_of(console, s) for s in console.services))
    items = sorted((i for letters, _ in found for i in letters), key=lambda i: i.failed_at, reverse=True)
    return DeadLetters(items=items, sources=[source for _, source in found])


async def replay(console: Console, service: str, letter_id: uuid.UUID) -> httpx.Response:
    """Ask the service to replay one dead letter into its original topic (it audits who)."""
    return await call(console, "POST", service, f"{LETTERS}/{letter_id}/replay")


async def discard(console: Console, service: str, letter_id: uuid.UUID, reason: str) -> httpx.Response:
    """Ask the service to give one dead letter up, with the operator's reason."""
    return await call(console, "POST", service, f"{LETTERS}/{letter_id}/discard", json={"reason": reason})
