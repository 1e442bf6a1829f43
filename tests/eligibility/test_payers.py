"""The payer client without servers (httpx's MockTransport stands in for the payer): which
failures are retried and how often, the time budget, the AAA 42 "try again later" answer,
and the circuit breaker's threshold, fail-fast and reset."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.eligibility.payers.domain import (
    BreakerOpen,
    PayerBadGateway,
    PayerConfig,
    PayerRejectedRequest,
    PayerTimeout,
    TransientReply,
)
from services.eligibility.payers.usecases import PayerClient


def make_client(answer: Callable[[httpx.Request], httpx.Response], **config: Any) -> tuple[PayerClient, list]:
    """A client for one payer P1 whose HTTP answers come from `answer`; the list logs the calls."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answer(request)

    fast = {"backoff_base_seconds": 0.01, "backoff_max_seconds": 0.02}
    payers = {"P1": PayerConfig(name="Payer", endpoint="http://payer.test/270", **{**fast, **config})}
    return PayerClient(payers, http=httpx.AsyncClient(transport=httpx.MockTransport(handler))), calls


def try_later(reply: str) -> str:
    """A reply parser for a payer that keeps answering AAA 42."""
    raise TransientReply(f"parsed {reply}")


async def test_transient_failures_are_retried_max_retries_times_then_raised():
    client, calls = make_client(lambda _: httpx.Response(503), max_retries=2)
    with pytest.raises(PayerBadGateway, match="HTTP 503"):
        await client.exchange("P1", "270", str)
    assert len(calls) == 3


async def test_a_refused_request_is_not_retried_and_does_not_open_the_breaker():
    client, calls = make_client(lambda _: httpx.Response(400), max_retries=2, breaker_failure_threshold=1)
    for _ in range(2):
        with pytest.raises(PayerRejectedRequest):
            await client.exchange("P1", "270", str)
    assert len(calls) == 2  # one each, and the breaker let the second through


async def test_try_again_later_is_retried_and_the_last_answer_returned():
    client, calls = make_client(lambda _: httpx.Response(200, text="AAA*42"), max_retries=2)
    assert await client.exchange("P1", "270", try_later) == "parsed AAA*42"
    assert len(calls) == 3


async def test_retries_never_sleep_past_the_time_budget():
    client, calls = make_client(
        lambda _: httpx.Response(500),
        max_retries=50,
        breaker_failure_threshold=100,
        timeout_seconds=1.0,
        backoff_base_seconds=0.1,
        backoff_max_seconds=0.1,
    )
    # The 1 s budget, not the 50 retries, ends it (jittered pauses of at most 0.1 s): with the
    # last 500 when a pause would cross the budget, or as a timeout when a busy machine used the
    # budget up before the next try. That no pause is started past the budget is shared.retry's
    # rule, tested without a wall clock in tests/shared/test_mechanisms.py; timing assertions do
    # not belong in tests.
    with pytest.raises((PayerBadGateway, PayerTimeout)):
        await client.exchange("P1", "270", str)
    assert 1 <= len(calls) < 51


async def test_breaker_opens_after_the_threshold_fails_fast_and_a_probe_closes_it():
    status = [500]
    client, calls = make_client(
        lambda _: httpx.Response(status[0], text="ok"),
        max_retries=0,
        breaker_failure_threshold=2,
        breaker_reset_seconds=0.3,
    )
    for _ in range(2):
        with pytest.raises(PayerBadGateway):
            await client.exchange("P1", "270", str)
    with pytest.raises(BreakerOpen) as opened:
        await client.exchange("P1", "270", str)
    assert len(calls) == 2 and opened.value.retry_after > 0  # not called while open
    await asyncio.sleep(0.35)
    status[0] = 200
    assert await client.exchange("P1", "270", str) == "ok"  # the probe
    assert await client.breakers.state("P1") == "closed"
    assert len(calls) == 3
