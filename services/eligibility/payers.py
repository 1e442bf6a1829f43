"""Payer connectivity: where each payer is and how hard to try, as configuration.

Per payer (data/payers.json, overridable by ELIGIBILITY_PAYERS_OVERRIDE): the endpoint, a
total timeout budget and a per-attempt timeout, retries with exponential backoff and full
jitter for transient failures only (connection errors, timeouts, HTTP 429/5xx and the AAA
42 "unable to respond now" answer), a circuit breaker, a rate limit and a cache TTL.

Real payers answer in 2-30 s and throttle bursts, so a burst of checks waits for the rate
limiter instead of being refused, and a payer that keeps failing is not hammered: after
`breaker_failure_threshold` consecutive failures the breaker opens and calls fail at once
until `breaker_reset_seconds` have passed; then one probe call decides.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from aiolimiter import AsyncLimiter
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ConfigDict, Field

from services.eligibility.settings import EligibilitySettings

log = logging.getLogger(__name__)
T = TypeVar("T")

PAYER_CALLS = Counter(
    "eligibility_payer_attempts_total", "HTTP attempts to payers, by outcome", ["payer", "outcome"]
)
PAYER_LATENCY = Histogram("eligibility_payer_seconds", "Time of one HTTP attempt to a payer", ["payer"])


class PayerConfig(BaseModel):
    """How to reach one payer."""

    model_config = ConfigDict(extra="forbid")

    name: str
    endpoint: str
    timeout_seconds: float = Field(
        default=8.0, gt=0, description="Budget for the whole call, retries included."
    )
    attempt_timeout_seconds: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    backoff_base_seconds: float = Field(default=0.2, ge=0)
    backoff_max_seconds: float = Field(default=2.0, ge=0)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=30.0, gt=0)
    rate_limit_per_second: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=10, ge=1)
    cache_ttl_seconds: float = Field(default=900, ge=0)


def load_payers(settings: EligibilitySettings) -> dict[str, PayerConfig]:
    """The connectivity table: the data file, with the environment's overrides merged in."""
    table: dict[str, dict] = json.loads(settings.payers_file.read_text())["payers"]
    if settings.payers_override:
        for payer_id, changes in json.loads(settings.payers_override).items():
            table[payer_id] = {**table.get(payer_id, {}), **changes}
    return {payer_id: PayerConfig(**values) for payer_id, values in table.items()}


# --- failures ----------------------------------------------------------------------------


class PayerFailure(Exception):
    """The payer gave no usable answer. `retryable` says whether the same check may work later."""

    code = "payer-error"
    retryable = True

    def __init__(self, payer_id: str, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.payer_id = payer_id
        self.detail = detail
        self.retry_after = retry_after


class PayerTimeout(PayerFailure):
    code = "payer-timeout"


class BreakerOpen(PayerFailure):
    code = "payer-circuit-open"


class PayerBadGateway(PayerFailure):
    """The payer answered with an HTTP error or something that is not a 271."""

    code = "payer-bad-gateway"


class PayerRejectedRequest(PayerFailure):
    """HTTP 4xx other than 408/429: sending the same request again will not help."""

    code = "payer-rejected-request"
    retryable = False


class TransientReply(Exception):
    """Raised by a reply parser for an answer that says "try again later" (AAA 42). The reply
    is kept, so the last one can be returned when the retries run out."""

    def __init__(self, result: object) -> None:
        super().__init__("transient reply")
        self.result = result


# --- circuit breaker ---------------------------------------------------------------------


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after a cool-down, where one
    probe call closes it again (success) or re-opens it (failure)."""

    def __init__(
        self, threshold: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.reset_seconds:
            return "half_open"
        return "open"

    def retry_after(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.reset_seconds - (self.clock() - self.opened_at))

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one probe at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        self.failures, self.opened_at, self._probing = 0, None, False

    def failure(self) -> None:
        self._probing = False
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.clock()


# --- the client --------------------------------------------------------------------------


@dataclass
class _PayerState:
    config: PayerConfig
    breaker: CircuitBreaker
    limiter: AsyncLimiter


TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


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
