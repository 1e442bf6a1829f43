"""The payer client: send a 270, get a usable 271 back or a `PayerFailure` saying why not.

Real payers answer in 2-30 s and throttle bursts, so a burst of checks waits for the rate
limiter instead of being refused, and a payer that keeps failing is not hammered: after
`breaker_failure_threshold` consecutive failures its breaker opens and calls fail at once
until `breaker_reset_seconds` have passed; then a probe call decides. Transient failures
(connection errors, timeouts, HTTP 408/425/429/5xx, and a 271 saying AAA 42 "unable to
respond now") are retried with exponential backoff and full jitter (shared.retry), never past
the payer's time budget; when the retries run out on an AAA 42, that 271 is the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import httpx
from aiolimiter import AsyncLimiter
from fastapi import FastAPI, Request
from prometheus_client import Counter, Histogram

from services.eligibility.payers.domain import (
    TRANSIENT_STATUS,
    BreakerOpen,
    PayerBadGateway,
    PayerConfig,
    PayerFailure,
    PayerRejectedRequest,
    PayerTimeout,
    TransientReply,
)
from services.eligibility.settings import EligibilitySettings
from shared.problems import invalid
from shared.retry import CircuitBreaker, CircuitOpen, retrying

T = TypeVar("T")

PAYER_CALLS = Counter(
    "eligibility_payer_attempts_total", "HTTP attempts to payers, by outcome", ["payer", "outcome"]
)
PAYER_LATENCY = Histogram("eligibility_payer_seconds", "Time of one HTTP attempt to a payer", ["payer"])


class _Retry(Exception):
    """Not an error: tells the retry policy that the next attempt may work (after a transient
    failure, or a reply that says "try again later")."""

    def __init__(self, outcome: PayerFailure | TransientReply) -> None:
        super().__init__(type(outcome).__name__)
        self.outcome = outcome

    def settle(self) -> object:
        """When the retries run out: the last "try later" 271 is the answer, a failure is raised."""
        if isinstance(self.outcome, TransientReply):
            return self.outcome.result
        raise self.outcome


class PayerClient:
    """One per process: shared HTTP connections, and per payer a breaker and a rate limiter."""

    def __init__(self, payers: dict[str, PayerConfig], http: httpx.AsyncClient | None = None) -> None:
        self.payers = payers
        self.http = http or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100)
        )
        defaults = PayerConfig.model_fields
        self.breakers = CircuitBreaker(
            threshold=defaults["breaker_failure_threshold"].default,
            reset_seconds=defaults["breaker_reset_seconds"].default,
        )
        self._limiters = {
            payer_id: AsyncLimiter(
                config.rate_limit_burst, config.rate_limit_burst / config.rate_limit_per_second
            )
            for payer_id, config in payers.items()
        }

    def config(self, payer_id: str) -> PayerConfig:
        return self.payers[payer_id]

    async def close(self) -> None:
        await self.http.aclose()

    async def exchange(self, payer_id: str, body: str, parse: Callable[[str], T]) -> T:
        """Send `body` (a 270) and return `parse(reply)`. Retries transient failures within
        the payer's timeout budget; raises a `PayerFailure` when no usable answer came.
        `parse` raises TransientReply for a reply that says "try again later"."""
        config = self.payers[payer_id]
        deadline = asyncio.get_running_loop().time() + config.timeout_seconds
        policy = retrying(
            attempts=config.max_retries + 1,
            base=config.backoff_base_seconds,
            cap=config.backoff_max_seconds,
            jitter=True,
            on=_Retry,
            budget_seconds=config.timeout_seconds,  # never sleeps past the payer's budget
        )
        try:
            async for attempt in policy:
                with attempt:
                    return await self._attempt(payer_id, deadline, body, parse)
        except _Retry as last:
            return last.settle()  # type: ignore[return-value]
        raise AssertionError("the retry policy ended without an outcome")  # pragma: no cover

    async def _attempt(self, payer_id: str, deadline: float, body: str, parse: Callable[[str], T]) -> T:
        """One try: wait for the payer's rate limit, then call it under its breaker. Raises
        _Retry for what may work next time; connection errors, timeouts, HTTP 5xx and
        unreadable answers count against the breaker, any other answer closes it."""
        config, loop = self.payers[payer_id], asyncio.get_running_loop()
        if deadline - loop.time() <= 0:
            raise PayerTimeout(payer_id, "The payer's time budget ran out before it answered.")
        try:
            async with asyncio.timeout(deadline - loop.time()):
                await self._limiters[payer_id].acquire()
        except TimeoutError:
            raise PayerTimeout(
                payer_id, "Waiting for the payer's rate limit used up the time budget."
            ) from None
        try:
            async with self.breakers.guard(
                payer_id,
                threshold=config.breaker_failure_threshold,
                reset_seconds=config.breaker_reset_seconds,
            ):
                response = await self._post(payer_id, config, body, deadline - loop.time())
                outcome = self._read(payer_id, response, parse)
        except CircuitOpen as open_:
            raise BreakerOpen(
                payer_id,
                "The payer failed repeatedly; calls are paused for a while.",
                retry_after=open_.retry_after,
            ) from None
        if isinstance(outcome, PayerRejectedRequest):
            raise outcome
        if isinstance(outcome, TransientReply):
            raise _Retry(outcome)
        PAYER_CALLS.labels(payer_id, "ok").inc()
        return outcome

    async def _post(self, payer_id: str, config: PayerConfig, body: str, remaining: float) -> httpx.Response:
        started = time.perf_counter()
        try:
            return await self.http.post(
                config.endpoint,
                content=body.encode(),
                headers={"Content-Type": "application/edi-x12"},
                timeout=min(config.attempt_timeout_seconds, max(remaining, 0.001)),
            )
        except httpx.TimeoutException:
            PAYER_CALLS.labels(payer_id, "timeout").inc()
            raise _Retry(PayerTimeout(payer_id, "The payer did not answer in time.")) from None
        except httpx.TransportError as exc:
            PAYER_CALLS.labels(payer_id, "connection_error").inc()
            failure = PayerBadGateway(payer_id, f"Could not reach the payer ({type(exc).__name__}).")
            raise _Retry(failure) from None
        finally:
            PAYER_LATENCY.labels(payer_id).observe(time.perf_counter() - started)

    def _read(
        self, payer_id: str, response: httpx.Response, parse: Callable[[str], T]
    ) -> T | TransientReply | PayerRejectedRequest:
        """The payer's answer. What the payer answered on purpose (a refusal of the request, or
        "try later") is returned, so the breaker counts the payer as up; failures are raised."""
        status = response.status_code
        if status in TRANSIENT_STATUS:
            PAYER_CALLS.labels(payer_id, f"http_{status}").inc()
            raise _Retry(PayerBadGateway(payer_id, f"The payer answered HTTP {status}."))
        if status >= 400:
            PAYER_CALLS.labels(payer_id, f"http_{status}").inc()
            return PayerRejectedRequest(payer_id, f"The payer refused the request (HTTP {status}).")
        try:
            return parse(response.text)
        except TransientReply as reply:
            PAYER_CALLS.labels(payer_id, "transient_reply").inc()
            return reply
        except ValueError:
            PAYER_CALLS.labels(payer_id, "unreadable").inc()
            raise PayerBadGateway(payer_id, "The payer's answer is not a readable 271.") from None


def load_payers(settings: EligibilitySettings) -> dict[str, PayerConfig]:
    """The connectivity table: the data file, with the environment's overrides merged in."""
    table: dict[str, dict] = json.loads(settings.payers_file.read_text())["payers"]
    if settings.payers_override:
        for payer_id, changes in json.loads(settings.payers_override).items():
            table[payer_id] = {**table.get(payer_id, {}), **changes}
    return {payer_id: PayerConfig(**values) for payer_id, values in table.items()}


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
