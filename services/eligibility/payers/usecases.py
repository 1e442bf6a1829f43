"""The payer client: send a 270, get a usable 271 back or a `PayerFailure` saying why not.

Real payers answer in 2-30 s and throttle bursts, so a burst of checks waits for the rate
limiter instead of being refused, and a payer that keeps failing is not hammered: after
`breaker_failure_threshold` consecutive failures the breaker opens and calls fail at once
until `breaker_reset_seconds` have passed; then one probe call decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from aiolimiter import AsyncLimiter
from fastapi import FastAPI, Request
from prometheus_client import Counter, Histogram

from services.eligibility.payers.domain import (
    TRANSIENT_STATUS,
    BreakerOpen,
    CircuitBreaker,
    PayerBadGateway,
    PayerConfig,
    PayerFailure,
    PayerRejectedRequest,
    PayerTimeout,
    TransientReply,
    load_payers,
)
from services.eligibility.settings import EligibilitySettings
from shared.problems import invalid

log = logging.getLogger(__name__)
T = TypeVar("T")

PAYER_CALLS = Counter(
    "eligibility_payer_attempts_total", "HTTP attempts to payers, by outcome", ["payer", "outcome"]
)
PAYER_LATENCY = Histogram("eligibility_payer_seconds", "Time of one HTTP attempt to a payer", ["payer"])


@dataclass
class _PayerState:
    config: PayerConfig
    breaker: CircuitBreaker
    limiter: AsyncLimiter


class PayerClient:
    """One per process: shared HTTP connections, and per payer a breaker and a rate limiter."""

    def __init__(self, payers: dict[str, PayerConfig], http: httpx.AsyncClient | None = None) -> None:
        self.payers = payers
        self.http = http or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100)
        )
        self._state = {
            payer_id: _PayerState(
                config,
                CircuitBreaker(config.breaker_failure_threshold, config.breaker_reset_seconds),
                AsyncLimiter(config.rate_limit_burst, config.rate_limit_burst / config.rate_limit_per_second),
            )
            for payer_id, config in payers.items()
        }

    def config(self, payer_id: str) -> PayerConfig:
        return self.payers[payer_id]

    async def close(self) -> None:
        await self.http.aclose()

    def _backoff(self, config: PayerConfig, attempt: int) -> float:
        """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
        ceiling = min(config.backoff_max_seconds, config.backoff_base_seconds * (2**attempt))
        return random.uniform(0, ceiling)

    async def exchange(self, payer_id: str, body: str, parse: Callable[[str], T]) -> T:
        """Send `body` (a 270) and return `parse(reply)`. Retries transient failures within
        the payer's timeout budget; raises a `PayerFailure` when no usable answer came."""
        state = self._state[payer_id]
        config = state.config
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.timeout_seconds
        last: PayerFailure | TransientReply | None = None
        for attempt in range(config.max_retries + 1):
            if attempt:
                pause = self._backoff(config, attempt - 1)
                if loop.time() + pause >= deadline:
                    break
                await asyncio.sleep(pause)
            if not state.breaker.allow():
                raise BreakerOpen(
                    payer_id,
                    "The payer failed repeatedly; calls are paused for a while.",
                    retry_after=state.breaker.retry_after(),
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    await state.limiter.acquire()
            except TimeoutError:
                state.breaker._probing = False
                last = PayerTimeout(payer_id, "Waiting for the payer's rate limit used up the time budget.")
                break
            remaining = deadline - loop.time()
            started = time.perf_counter()
            try:
                response = await self.http.post(
                    config.endpoint,
                    content=body.encode(),
                    headers={"Content-Type": "application/edi-x12"},
                    timeout=min(config.attempt_timeout_seconds, max(remaining, 0.001)),
                )
            except httpx.TimeoutException:
                PAYER_CALLS.labels(payer_id, "timeout").inc()
                state.breaker.failure()
                last = PayerTimeout(payer_id, "The payer did not answer in time.")
                continue
            except httpx.TransportError as exc:
                PAYER_CALLS.labels(payer_id, "connection_error").inc()
                state.breaker.failure()
                last = PayerBadGateway(payer_id, f"Could not reach the payer ({type(exc).__name__}).")
                continue
            finally:
                PAYER_LATENCY.labels(payer_id).observe(time.perf_counter() - started)
            if response.status_code in TRANSIENT_STATUS:
                PAYER_CALLS.labels(payer_id, f"http_{response.status_code}").inc()
                state.breaker.failure()
                last = PayerBadGateway(payer_id, f"The payer answered HTTP {response.status_code}.")
                continue
            if response.status_code >= 400:
                PAYER_CALLS.labels(payer_id, f"http_{response.status_code}").inc()
                state.breaker.success()  # the payer is up; the request is what it refused
                raise PayerRejectedRequest(
                    payer_id, f"The payer refused the request (HTTP {response.status_code})."
                )
            try:
                result = parse(response.text)
            except TransientReply as reply:
                PAYER_CALLS.labels(payer_id, "transient_reply").inc()
                state.breaker.success()
                last = reply
                continue
            except ValueError:
                PAYER_CALLS.labels(payer_id, "unreadable").inc()
                state.breaker.failure()
                raise PayerBadGateway(payer_id, "The payer's answer is not a readable 271.") from None
            PAYER_CALLS.labels(payer_id, "ok").inc()
            state.breaker.success()
            return result
        if isinstance(last, TransientReply):
            return last.result  # type: ignore[return-value]
        if last is None:
            last = PayerTimeout(payer_id, "The payer's time budget ran out before it answered.")
        raise last


@contextlib.asynccontextmanager
async def open_client(settings: EligibilitySettings) -> AsyncIterator[PayerClient]:
    """The process's payer client for the life of the app (the service's lifespan); its
    connections are closed when the app stops."""
    client = PayerClient(load_payers(settings))
    try:
        yield client
    finally:
        await client.close()


def payer_client(app: FastAPI) -> PayerClient:
    """The client the service's lifespan made for this app."""
    return app.state.payers


def request_client(request: Request) -> PayerClient:
    """`payer_client` as a route dependency."""
    return payer_client(request.app)


def require_known(client: PayerClient, payer_id: str, field: str) -> None:
    """A 422 naming `field` when no payer with this id is configured (nothing could answer)."""
    if payer_id not in client.payers:
        raise invalid(
            (field, "unknown_payer", "No payer with this id is configured."),
            detail="1 field(s) broke a rule; see `errors`.",
        )
