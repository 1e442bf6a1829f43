"""Stuck work: queues that only a person (or a fix) empties, made visible (issue 16, item 7).

A service declares its queues as `Probe`s in its ServiceDefinition (`stuck_work=[...]`): a
name ("payments:unmatched"), an async query giving (how many, age in seconds of the oldest),
and when that is worth a warning. Every service also watches its own dead letters (parked, and
parked in the last hour: growth) without declaring anything; the outbox backlog is readiness's
own check (shared.health) and is not repeated here.

Why a background round and a cache: readiness is polled every few seconds by every load
balancer, and /metrics by Prometheus; neither may run a count over a large table per request.
`refresh` (the "stuck-work" worker shared.app adds to every service, every
`STUCK_WORK_EVERY_SECONDS`, 30 s by default) runs each probe in its own session under a
timeout, sets the gauges `stuck_work_items{service,queue}` and
`stuck_work_oldest_age_seconds{service,queue}`, and keeps what it saw on `app.state.stuck_work`;
readiness (`checks`) and `GET /v1/ops/overview` read that.

Stuck work warns and never fails readiness: the service still does its job, a person has to
look (docs/runbook-stuck-work.md says who and how).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import ColumnElement, Table, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import metrics
from shared.config import Settings
from shared.deadletters import store as dead_letter_store, usecases as dead_letters

log = logging.getLogger(__name__)

Query = Callable[[AsyncSession], Awaitable[tuple[int, float | None]]]
PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Probe:
    """One queue of stuck work. `query(session)` answers (count, oldest age in seconds or None
    when empty). The queue warns when it holds at least `warn_count` items, or when its oldest
    is at least `warn_age_seconds` old (None: that alone never warns). Both can be changed
    without a release through STUCK_WORK_THRESHOLDS (JSON, by probe name), e.g.
    `{"payments:unmatched": {"warn_count": 20, "warn_age_seconds": 3600}}`."""

    name: str
    query: Query
    warn_count: int | None = 1
    warn_age_seconds: float | None = None
    unit: str = "items"

    def thresholds(self, settings: Settings) -> tuple[int | None, float | None]:
        """The warn thresholds in force: the settings' override, else the probe's own."""
        override = settings.stuck_work_thresholds.get(self.name, {})
        count = override.get("warn_count", self.warn_count)
        age = override.get("warn_age_seconds", self.warn_age_seconds)
        return (None if count is None else int(count)), (None if age is None else float(age))

    def judge(self, count: int, oldest_age: float | None, settings: Settings) -> str:
        """The queue's state: warn when over a threshold, else ok (an empty queue is ok)."""
        warn_count, warn_age = self.thresholds(settings)
        if count <= 0:
            return "ok"
        if warn_count is not None and count >= warn_count:
            return "warn"
        if warn_age is not None and oldest_age is not None and oldest_age >= warn_age:
            return "warn"
        return "ok"


@dataclass(frozen=True)
class Reading:
    """What one round saw of one queue. `error` is set when the last try failed; the count and
    age are then the last ones seen (zero if none yet)."""

    queue: str
    count: int
    oldest_age_seconds: float | None
    state: str
    unit: str
    at: datetime
    error: str | None = None

    def public(self) -> dict[str, Any]:
        """The overview's item (the ops page's contract, /work/notes/issue16b.md)."""
        age = None if self.oldest_age_seconds is None else round(self.oldest_age_seconds, 1)
        return {"queue": self.queue, "count": self.count, "oldest_age_seconds": age, "state": self.state}


@dataclass(frozen=True)
class TopicLetters:
    """A consumed topic's parked dead letters: how many, how old the newest and the oldest is,
    and how many were parked in the last hour (growth)."""

    topic: str
    count: int
    newest_age_seconds: float | None
    oldest_age_seconds: float | None
    last_hour: int

    def public(self) -> dict[str, Any]:
        age = None if self.newest_age_seconds is None else round(self.newest_age_seconds, 1)
        return {"topic": self.topic, "count": self.count, "newest_age_seconds": age}


@dataclass(frozen=True)
class Snapshot:
    """The last round: every queue's reading and the dead letters per consumed topic."""

    readings: dict[str, Reading]
    dead_letters: list[TopicLetters]
    at: datetime


async def count_and_oldest(
    session: AsyncSession, table: Any, since: Any, *where: ColumnElement[bool]
) -> tuple[int, float | None]:
    """The usual probe query: how many rows of `table` match `where`, and how many seconds ago
    the oldest `since` of them was (None when there are none). Service stores call it with
    their own tables and conditions."""
    target = table if isinstance(table, Table) else table.__table__
    age = func.extract("epoch", func.clock_timestamp() - func.min(since))
    count, oldest = (await session.execute(select(func.count(), age).select_from(target).where(*where))).one()
    return int(count), (None if oldest is None else max(float(oldest), 0.0))


def dead_letter_probes(service: str, group: str, topics: Sequence[str]) -> list[Probe]:
    """The two queues every consuming service has, from its dead-letter index: parked dead
    letters (any one is an operator's decision waiting: replay after a fix, or discard) and
    those parked in the last hour (growth: ten in an hour say something is broken now). Each
    round brings the index up to date from Kafka before it counts."""

    async def parked(session: AsyncSession) -> tuple[int, float | None]:
        return await dead_letter_store.parked_count(session, group, topics)

    async def last_hour(session: AsyncSession) -> tuple[int, float | None]:
        return await dead_letter_store.parked_count(session, group, topics, within=timedelta(hours=1))

    if not topics:
        return []
    return [
        Probe(f"{service}:dead-letters", parked, warn_count=1, unit="letters"),
        Probe(f"{service}:dead-letters-last-hour", last_hour, warn_count=10, unit="letters"),
    ]


def probes_of(service: str, declared: Sequence[Probe], group: str, topics: Sequence[str]) -> list[Probe]:
    """A service's probes: what it declared, and its dead letters'."""
    return [*declared, *dead_letter_probes(service, group, topics)]


async def _read(app: FastAPI, probe: Probe, previous: Reading | None, timeout: float) -> Reading:
    settings: Settings = app.state.settings
    now = datetime.now(UTC)
    try:
        async with asyncio.timeout(timeout), app.state.db.session() as session:
            count, age = await probe.query(session)
    except Exception as exc:  # one broken probe must not hide the others
        log.warning("stuck-work probe failed", extra={"probe": probe.name, "error_type": type(exc).__name__})
        error = f"probe failed ({type(exc).__name__})"
        if previous is not None:
            return replace(previous, error=error)
        return Reading(probe.name, 0, None, "ok", probe.unit, now, error)
    return Reading(probe.name, count, age, probe.judge(count, age, settings), probe.unit, now)


async def _letters(app: FastAPI, timeout: float) -> list[TopicLetters] | None:
    """The dead-letter index brought up to date from Kafka (so a new letter is seen within a
    round; when Kafka cannot be read, the index counts as it stands), then counted per topic.
    None when the database cannot say."""
    queue = dead_letters.queue_for(app)
    if not queue.topics:
        return []
    # In a task of its own, shielded: aiokafka can swallow a cancellation that arrives while
    # it reads, and a worker whose step returns normally after being cancelled never stops
    # (the app's shutdown would wait for it forever). Kafka slow: count what the index has.
    sync = asyncio.ensure_future(dead_letters.try_sync(queue))
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(sync), timeout)
    except asyncio.CancelledError:
        sync.cancel()
        raise
    try:
        async with asyncio.timeout(timeout):
            stats = await dead_letters.topic_stats(queue)
    except Exception as exc:
        log.warning("dead-letter counts failed", extra={"error_type": type(exc).__name__})
        return None
    return [TopicLetters(topic, *stats.get(topic, (0, None, None, 0))) for topic in queue.topics]


async def refresh(app: FastAPI) -> Snapshot:
    """One round: the dead letters, then every probe, then the gauges; kept on
    app.state.stuck_work."""
    previous: Snapshot | None = getattr(app.state, "stuck_work", None)
    before = previous.readings if previous else {}
    timeout = min(PROBE_TIMEOUT_SECONDS, app.state.settings.stuck_work_every_seconds * 10)
    letters = await _letters(app, timeout)
    if letters is None:
        letters = previous.dead_letters if previous else []
    probes: list[Probe] = app.state.stuck_probes
    readings = await asyncio.gather(*(_read(app, p, before.get(p.name), timeout) for p in probes))
    snapshot = Snapshot({r.queue: r for r in readings}, letters, datetime.now(UTC))
    _export(app.state.service, snapshot)
    app.state.stuck_work = snapshot
    return snapshot


def _export(service: str, snapshot: Snapshot) -> None:
    for reading in snapshot.readings.values():
        metrics.STUCK_WORK_ITEMS.labels(service, reading.queue).set(reading.count)
        metrics.STUCK_WORK_OLDEST_AGE.labels(service, reading.queue).set(reading.oldest_age_seconds or 0.0)
    for letters in snapshot.dead_letters:
        metrics.DEAD_LETTERS_PARKED.labels(service, letters.topic).set(letters.count)
        metrics.DEAD_LETTERS_LAST_HOUR.labels(service, letters.topic).set(letters.last_hour)


async def step(app: FastAPI) -> None:
    """The worker's step (shared.app registers it as "stuck-work")."""
    await refresh(app)


async def current(app: FastAPI) -> Snapshot:
    """The last round, or a round now when none finished yet (the service just started)."""
    snapshot: Snapshot | None = getattr(app.state, "stuck_work", None)
    return snapshot if snapshot is not None else await refresh(app)


def _describe(reading: Reading, probe_thresholds: tuple[int | None, float | None]) -> str:
    parts = []
    if reading.oldest_age_seconds is not None:
        parts.append(f"oldest {_age(reading.oldest_age_seconds)}")
    warn_count, warn_age = probe_thresholds
    limits = [f">= {warn_count} {reading.unit}"] if warn_count is not None else []
    limits += [f"older than {_age(warn_age)}"] if warn_age is not None else []
    if limits:
        parts.append("warns at " + " or ".join(limits))
    if reading.error:
        parts.append(reading.error)
    return "; ".join(parts)


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def checks(app: FastAPI) -> dict[str, list[dict[str, Any]]]:
    """Readiness's `stuck:<queue>` checks from the last round: the queues over their threshold,
    and probes that failed, as "warn" (never "fail"); queues that are fine are left out, so
    readiness stays short (the overview lists every queue)."""
    snapshot: Snapshot | None = getattr(app.state, "stuck_work", None)
    if snapshot is None:
        return {}
    probes = {p.name: p for p in app.state.stuck_probes}
    found: dict[str, list[dict[str, Any]]] = {}
    for reading in snapshot.readings.values():
        if reading.state != "warn" and reading.error is None:
            continue
        probe = probes.get(reading.queue)
        limits = probe.thresholds(app.state.settings) if probe else (None, None)
        found[f"stuck:{reading.queue}"] = [
            {
                "componentType": "component",
                "status": "warn",
                "observedValue": reading.count,
                "observedUnit": reading.unit,
                "time": reading.at.isoformat().replace("+00:00", "Z"),
                "output": _describe(reading, limits),
            }
        ]
    return found
