"""The loop the outbox relay and the consumers share: keep working through outages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def run_forever(
    step: Callable[[], Awaitable[None]],
    *,
    what: str,
    recover: Callable[[], Awaitable[None]],
    first_delay: float,
    max_delay: float,
) -> None:
    """Run `step` until cancelled.

    A failure (database or broker gone, a rebalance) is logged by its type only, because
    library messages can quote data; `recover` drops the broken clients, and the next try
    waits with exponential backoff, which the next success resets.
    """
    delay = first_delay
    while True:
        try:
            await step()
            delay = first_delay
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                f"{what} failed; retrying", extra={"error_type": type(exc).__name__, "retry_in_s": delay}
            )
            await recover()
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
