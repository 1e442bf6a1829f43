"""How the EHR partner delivers its encounters (ehr.py): paced sends, and, like a real
interface engine, no giving up while the broker is away (not up yet, restarting): connecting
and every send that failed are retried with backoff (shared/retry.py) until a deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.kafka import KafkaAccess, started_producer
from shared.retry import retrying

# What a broker that is away looks like to the client (refused, timed out, not the leader yet).
BROKER_AWAY = (KafkaError, OSError)

log = logging.getLogger("ehr_sandbox")


async def send_paced(
    producer: AIOKafkaProducer,
    records: list[Any],
    started: float,
    *,
    rate: float,
    topic: str | None,
    on_sent: Callable[[], None] | None,
) -> list[int]:
    """Hand each record to the producer when it is due (i / rate after `started`; 0 = at once)
    and wait for the broker's answers; the indexes it refused or failed, to be sent again."""
    pending: list[tuple[int, asyncio.Future[Any]]] = []
    failed: list[int] = []
    for i, (event_topic, key, value, headers) in enumerate(records):
        if rate > 0:
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        try:
            pending.append((i, await producer.send(topic or event_topic, value, key=key, headers=headers)))
        except BROKER_AWAY:
            failed.append(i)  # the producer's buffer refused it: sent again after the run
        if on_sent is not None:
            on_sent()
    results = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
    return failed + [i for (i, _), r in zip(pending, results, strict=True) if isinstance(r, BaseException)]


def waiting(what: str, deadline: float) -> Any:
    """The retry policy while the broker is away: backoff up to 5 s, until the deadline."""

    def before_sleep(state: Any) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: broker away (%s); retrying in %.1f s", what, type(error).__name__, state.upcoming_sleep
        )

    return retrying(
        attempts=None,
        base=0.5,
        cap=5.0,
        on=BROKER_AWAY,
        budget_seconds=max(0.0, deadline - time.monotonic()),
        before_sleep=before_sleep,
    )


async def connect(kafka: KafkaAccess, deadline: float) -> AIOKafkaProducer:
    """A started producer, once the broker answers (or the deadline's error)."""
    async for attempt in waiting("connecting", deadline):
        with attempt:
            producer = await started_producer(kafka, client_id="ehr-sandbox")
    return producer


async def send_until(
    producer: AIOKafkaProducer,
    topic: str,
    key: bytes | None,
    value: bytes,
    headers: list[tuple[str, bytes]],
    deadline: float,
) -> None:
    """One encounter whose first send failed, again until the broker has it."""
    async for attempt in waiting("sending", deadline):
        with attempt:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
