"""Retries, backoff and circuit breakers: the one way every service waits and gives up.

Built on two well-kept libraries instead of hand-written loops: tenacity for retry policies
(stop, wait, which exceptions, async, hooks), and purgatory for per-key async circuit breakers
(threshold, reset time, half-open probe). A service never writes its own `2 ** attempt`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import lru_cache
from types import SimpleNamespace

import tenacity
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

log = logging.getLogger(__name__)


@lru_cache(maxsize=64)
def _wait(base: float, cap: float, jitter: bool) -> tenacity.wait.wait_base:
    if jitter:  # "full jitter": uniform in [0, the exponential ceiling]
        return tenacity.wait_random_exponential(multiplier=base, max=cap)
    return tenacity.wait_exponential(multiplier=base, max=cap)


def backoff(attempt: int, *, base: float, cap: float, jitter: bool = False) -> float:
    """Seconds to wait before try `attempt + 1` after `attempt` failures (1-based): base, 2·base,
    4·base … capped at `cap`. For schedules kept in a table (a row's next_attempt_at), where the
    wait has to be computed rather than slept."""
    if attempt < 1:
        return 0.0
    # tenacity's wait strategies read only the attempt number: no retry object per call (this
    # runs for every failed delivery and every consumer retry).
    return float(_wait(base, cap, jitter)(SimpleNamespace(attempt_number=attempt)))  # type: ignore[arg-type]


def retrying(
    *,
    attempts: int | None,
    base: float,
    cap: float,
    on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    jitter: bool = False,
    budget_seconds: float | None = None,
    before_sleep: Callable[[tenacity.RetryCallState], Awaitable[None] | None] | None = None,
) -> tenacity.AsyncRetrying:
    """An async retry policy: `async for attempt in retrying(...): with attempt: ...`.

    `attempts=None` retries until cancelled; with `budget_seconds` it never starts a pause that
    would end beyond the budget. The last exception is re-raised, never wrapped, so callers see
    what really failed."""
    stops: list[tenacity.stop.stop_base] = []
    if attempts is not None:
        stops.append(tenacity.stop_after_attempt(attempts))
    if budget_seconds is not None:
        stops.append(tenacity.stop_before_delay(budget_seconds))
    stop: tenacity.stop.stop_base = tenacity.stop_never
    for s in stops:
        stop = s if stop is tenacity.stop_never else stop | s
    return tenacity.AsyncRetrying(
        stop=stop,
        wait=_wait(base, cap, jitter),
        retry=tenacity.retry_if_exception_type(on),
        before_sleep=before_sleep,
        reraise=True,
    )


async def run_forever(
    step: Callable[[], Awaitable[None]],
    *,
    what: str,
    recover: Callable[[], Awaitable[None]],
    first_delay: float,
    max_delay: float,
) -> None:
    """Run `step` again and again until cancelled (the outbox relay, consumers, workers).

    A failure (database or broker gone, a rebalance) is logged by its type only, because library
    messages can quote data; `recover` drops the broken clients, and the next try waits with
    exponential backoff. A success starts the backoff again from `first_delay`."""

    async def failed(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.upcoming_sleep
        log.warning(f"{what} failed; retrying", extra={"error_type": type(exc).__name__, "retry_in_s": delay})
        await recover()

    while True:
        async for attempt in retrying(attempts=None, base=first_delay, cap=max_delay, before_sleep=failed):
            with attempt:
                await step()


class CircuitOpen(Exception):
    """Calls to `key` fail at once: it failed too often lately (the breaker is open).
    `retry_after` is the seconds until the breaker lets a probe through (for Retry-After)."""

    def __init__(self, key: str, retry_after: float) -> None:
        super().__init__(f"circuit open: {key}")
        self.key = key
        self.retry_after = retry_after


class CircuitBreaker:
    """Circuit breakers by key (one per payer, per endpoint …), on purgatory.

    After `threshold` consecutive failures a key's breaker opens and `guard(key)` raises
    CircuitOpen at once, without calling out, until `reset_seconds` have passed; then a probe
    call decides whether it closes again (purgatory lets every call through while half-open).
    Exceptions in `exclude` (the partner answered, just not what we hoped) count as answers:
    they do not open the breaker, and like a success they reset the failure count."""

    def __init__(
        self, *, threshold: int, reset_seconds: float, exclude: tuple[type[BaseException], ...] = ()
    ) -> None:
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=reset_seconds, exclude=list(exclude)
        )

    @contextlib.asynccontextmanager
    async def guard(
        self, key: str, *, threshold: int | None = None, reset_seconds: float | None = None
    ) -> AsyncIterator[None]:
        """Run the body under `key`'s breaker; raise CircuitOpen instead while it is open."""
        breaker = await self._factory.get_breaker(key, threshold, reset_seconds)
        try:
            async with breaker:
                yield
        except OpenedState as exc:
            ctx = breaker.context
            opened = ctx.opened_at or time.time()
            raise CircuitOpen(key, max(0.0, ctx.ttl - (time.time() - opened))) from exc

    async def state(self, key: str) -> str:
        """`closed`, `opened` or `half-opened` (for health pages and tests)."""
        async with self._factory.uow as uow:
            ctx = await uow.contexts.get(key)
        return "closed" if ctx is None else str(ctx.state)
