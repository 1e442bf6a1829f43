"""Retries, backoff and circuit breakers: the one way every service waits and gives up.

Built on two well-kept libraries instead of hand-written loops: tenacity for retry policies
(stop, wait, which exceptions, async, hooks), and purgatory for per-key async circuit breakers
(threshold, reset time, half-open probe). A service never writes its own `2 ** attempt`.

`transient(error)` is the one place that decides whether a failure is a dependency away for a
while (retry until it is back) or something that can never succeed; `Outage` keeps what a
background loop's failures say, for readiness; `Strikes` counts the rounds an item failed alone.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace, TracebackType
from typing import Generic, TypeVar

import httpx
import sqlalchemy.exc
import tenacity
from aiokafka import errors as kafka_errors
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
    step: Callable[[], Awaitable[bool | None]],
    *,
    what: str,
    recover: Callable[[], Awaitable[None]],
    first_delay: float,
    max_delay: float,
    outage: Outage | None = None,
) -> None:
    """Run `step` again and again until cancelled (the outbox relay, consumers, workers).

    A failure (database or broker gone, a rebalance) is logged by its type only, because library
    messages can quote data; `recover` drops the broken clients, and the next try waits
    with exponential backoff. A success starts the backoff again from `first_delay`. `outage`,
    when given, says meanwhile since when and why the loop fails (readiness shows it); a step
    that returns False did nothing that tells (an empty poll) and leaves it as it is."""

    async def failed(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        assert exc is not None
        if outage is not None:
            outage.begin(exc)
        extra = {"error_type": type(root_error(exc)).__name__, "retry_in_s": state.upcoming_sleep}
        log.warning(f"{what} failed; retrying", extra={**extra, "dependency": transient(exc)})
        await recover()

    while True:
        async for attempt in retrying(attempts=None, base=first_delay, cap=max_delay, before_sleep=failed):
            with attempt:
                if await step() is not False and outage is not None:
                    outage.end()


# --- transient failures -------------------------------------------------------------------

# SQLSTATEs that say "the database, not the statement": the connection (08), the server going
# down or not yet up (57P01-57P05), its resources (53), its own system errors (58), and
# transactions that lost a race (40001 serialization, 40P01 deadlock, 55P03 lock not available)
# or ran out of time (57014 statement timeout).
_SQLSTATE_CLASSES = {"08": "database unreachable", "53": "database busy", "58": "database failing"}
_SQLSTATES = {
    "40001": "database busy",
    "40P01": "database busy",
    "55P03": "database busy",
    "57014": "database timeout",
    **{f"57P0{n}": "database unreachable" for n in range(1, 6)},
}
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EHOSTDOWN,
}


def transient(exc: BaseException) -> str | None:
    """What a failure says about a dependency that will come back ("database unreachable",
    "database busy", "kafka unreachable", "partner unreachable" ...), or None when trying again
    cannot help: the event, the request or the code is at fault.

    Looks through the exception's causes (SQLAlchemy wraps asyncpg's errors, which carry the
    SQLSTATE); a definite SQLSTATE decides, whichever it is."""
    for link in _causes(exc):
        sqlstate = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(sqlstate, str) and len(sqlstate) == 5:
            return _SQLSTATES.get(sqlstate) or _SQLSTATE_CLASSES.get(sqlstate[:2])
        found = _by_type(link)
        if found:
            return found
    return None


def attributable(exc: BaseException) -> bool:
    """Whether a transient failure may be the failing transaction's own doing rather than a
    dependency away: "database busy" (a lost race, or resources: 53200 is also what a
    transaction wanting more locks than the server's lock table holds gets, every time) or
    "database timeout" (a statement too long). Only these, recurring for one event alone
    while the database answers, make the consumer park it (`shared.consumer`)."""
    return transient(exc) in {"database busy", "database timeout"}


def root_error(exc: BaseException) -> BaseException:
    """The error a wrapper stands for (`cause` of our own wrappers, else itself): what logs and
    readiness name."""
    inner = getattr(exc, "cause", None)
    return inner if isinstance(inner, BaseException) else exc


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        link = todo.pop(0)
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        orig, cause = getattr(link, "orig", None), getattr(link, "cause", None)
        todo += [x for x in (orig, cause) if isinstance(x, BaseException)]
        todo.append(link.__cause__)
        if not link.__suppress_context__:
            todo.append(link.__context__)


def _by_type(exc: BaseException) -> str | None:
    if isinstance(exc, kafka_errors.KafkaError):
        retriable = exc.retriable or isinstance(exc, kafka_errors.KafkaTimeoutError)
        return "kafka unreachable" if retriable else None
    if isinstance(exc, httpx.TransportError | CircuitOpen):
        return "partner unreachable"
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return "database unreachable"
    if isinstance(exc, sqlalchemy.exc.TimeoutError):  # no pooled connection came free in time
        return "database busy"
    network = isinstance(exc, ConnectionError | TimeoutError) or (
        type(exc) is OSError and (exc.errno is None or exc.errno in _NETWORK_ERRNOS)
    )
    if network or _closed_connection(exc):
        return f"{_peer(exc.__traceback__)} unreachable"
    return None


def _closed_connection(exc: BaseException) -> bool:
    """asyncpg's "connection is closed" (an InterfaceError without a SQLSTATE)."""
    return type(exc).__module__.startswith("asyncpg") and "closed" in str(exc) and "connection" in str(exc)


def _peer(tb: TracebackType | None) -> str:
    """Whom a bare network error came from, by the library it was raised in."""
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(("asyncpg", "sqlalchemy")):
            return "database"
        if module.startswith("aiokafka"):
            return "kafka"
        tb = tb.tb_next
    return "network"


class Outage:
    """Whether a background loop (relay, consumer, worker) is failing, since when and why:
    what readiness reports ("database unreachable since 2026-01-05T10:00:01Z ...")."""

    def __init__(self) -> None:
        self.since: datetime | None = None
        self.reason: str | None = None
        self.error_type = ""
        self.failures = 0

    @property
    def active(self) -> bool:
        return self.since is not None

    @property
    def transient(self) -> bool:
        """A dependency is away (rather than the loop itself failing)."""
        return self.reason is not None

    def begin(self, exc: BaseException) -> None:
        """A round failed (the first failure starts the outage; later ones update the reason)."""
        self.failures += 1
        self.reason = transient(exc)
        self.error_type = type(root_error(exc)).__name__
        if self.since is None:
            self.since = datetime.now(UTC)

    def end(self) -> None:
        self.since, self.reason, self.error_type, self.failures = None, None, "", 0

    def describe(self) -> str:
        since = (self.since or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
        what = self.reason or "failing"
        return f"{what} since {since} ({self.error_type}; {self.failures} failed tries)"


K = TypeVar("K", bound=Hashable)


class Strikes(Generic[K]):
    """How many rounds each item (e.g. a record's position) failed alone with a transient
    error while its dependency answered. Such an item is busy or timing out rather than the
    dependency being away: it is retried like an outage, but only `limit` rounds, after which
    the caller treats it as poison. The count of an item that reached the limit is forgotten."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[K, int] = {}

    def strike(self, key: K) -> int | None:
        """One more failed round of `key`: None while under the limit (try again), else how
        many rounds it failed."""
        count = self._counts[key] = self._counts.get(key, 0) + 1
        if count < self.limit:
            return None
        del self._counts[key]
        return count

    def retain(self, keep: Callable[[K], bool]) -> None:
        """Forget the items `keep` rejects (e.g. those behind a committed offset)."""
        self._counts = {k: n for k, n in self._counts.items() if keep(k)}


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
