"""Sending due deliveries through their channels, retrying with backoff.

One round: claim a batch of due rows (`FOR UPDATE SKIP LOCKED`, so replicas share the work)
by pushing their `next_attempt_at` a short lease into the future and counting the attempt;
commit; send them concurrently outside any transaction while a heartbeat renews the lease; then
record each outcome in one transaction with its `notification.sent` / `notification.failed`
event (outbox), and only then stop the heartbeat, so no retry can start before the outcome is
recorded. A replica that dies mid-send leaves rows that come due again when its lease ends
(seconds, not minutes), and the next sender sends them again with the same identity (the
email's Message-ID and the SMS's Idempotency-Key are the delivery id): the provider keeps one
message, so a crash between sending and recording never makes a second, different message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Histogram

from services.notifications.channels.domain import Adapter, Outgoing, PermanentSendError, SendError
from services.notifications.deliveries import store
from services.notifications.deliveries.domain import deadline, failed_event, retry_in, sent_event
from services.notifications.recipients.domain import PUSH_CHANNELS
from services.notifications.settings import NotificationSettings
from shared.db import Database
from shared.due import Lease, kept
from shared.events import Event
from shared.outbox import add_events

log = logging.getLogger(__name__)

# Labels are channel and outcome only (no ids, no addresses).
SEND_ATTEMPTS = Counter(
    "notification_send_attempts_total",
    "Email and SMS send attempts by outcome (sent, retry, failed).",
    ["channel", "outcome"],
)
SEND_SECONDS = Histogram(
    "notification_send_seconds",
    "Time a provider took to accept or refuse one message.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


@dataclass
class _Outcomes:
    """What one round records: per row sent, retried or failed, and the events to stage."""

    at: datetime
    sent: list[Any] = field(default_factory=list)
    retries: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[Any, Event]] = field(default_factory=list)  # (delivery id, event)


class Sender:
    """The adapters of one app, and the rounds that use them."""

    def __init__(self, db: Database, settings: NotificationSettings, adapters: dict[str, Adapter]) -> None:
        self.db = db
        self.settings = settings
        self.adapters = adapters
        # Per channel: a hanging provider can only tie up its own channel's slots.
        self.limits = {channel: asyncio.Semaphore(settings.send_concurrency) for channel in PUSH_CHANNELS}

    async def _send(self, row: Any, lease: Lease) -> str | None:
        """None when sent, else the error; 'permanent:' prefix when retrying cannot help."""
        message = Outgoing(str(row.id), row.channel, row.address, row.subject, row.body)
        async with self.limits[row.channel]:
            if not lease.held():  # renewals failed: another sender may have the row by now
                return f"{row.channel}: lease lost before sending"
            try:
                with SEND_SECONDS.labels(row.channel).time():
                    async with asyncio.timeout(deadline(self.settings, row.channel)):
                        await self.adapters[row.channel].send(message)
            except PermanentSendError as exc:
                return f"permanent: {exc}"
            except SendError as exc:
                return str(exc)
            except TimeoutError:
                return f"{row.channel}: deadline"
            except Exception as exc:  # an adapter bug must not stop the round
                return f"{row.channel}: {type(exc).__name__}"
        return None

    def _outcomes(self, rows: Sequence[Any], errors: Sequence[str | None]) -> _Outcomes:
        """Sort the round's rows into sent, to retry (with their backoff) and failed for good."""
        s = self.settings
        out = _Outcomes(datetime.now(UTC))
        for row, error in zip(rows, errors, strict=True):
            if error is None:
                out.sent.append(row.id)
                SEND_ATTEMPTS.labels(row.channel, "sent").inc()
                out.events.append((row.id, sent_event(row._asdict(), out.at)))
            elif error.startswith("permanent:") or row.attempts >= s.max_attempts:
                out.failures.append({"id": row.id, "attempt": row.attempts, "error": error[:200]})
                SEND_ATTEMPTS.labels(row.channel, "failed").inc()
                out.events.append((row.id, failed_event(row._asdict(), error[:200], row.attempts, out.at)))
            else:
                next_at = out.at + timedelta(seconds=retry_in(s, row.attempts))
                out.retries.append(
                    {"id": row.id, "attempt": row.attempts, "next": next_at, "error": error[:200]}
                )
                SEND_ATTEMPTS.labels(row.channel, "retry").inc()
        return out

    async def round(self, channel: str) -> int:
        """Send one batch of one channel's due deliveries; returns how many were claimed."""
        s = self.settings
        taken_at = asyncio.get_running_loop().time()
        async with self.db.session() as session, session.begin():
            rows = await store.claim(session, channel, lease=s.lease_seconds, limit=s.worker_batch_size)
        if not rows:
            return 0
        held = [(r.id, r.attempts) for r in rows]

        async def renew() -> None:
            async with self.db.session() as session, session.begin():
                await store.renew(session, held, lease=s.lease_seconds)

        async with kept(renew, s.lease_seconds, taken_at=taken_at) as lease:
            errors = await asyncio.gather(*(self._send(r, lease) for r in rows))
            await self._record(rows, errors, self._outcomes(rows, errors))
        for row, error in zip(rows, errors, strict=True):
            if error is not None:
                log.info(
                    "send failed", extra={"channel": row.channel, "attempt": row.attempts, "error": error}
                )
        return len(rows)

    async def _record(self, rows: Sequence[Any], errors: Sequence[str | None], out: _Outcomes) -> None:
        """The round's outcomes, its tries in the history, and the events of the outcomes this
        round recorded (not those another sender recorded first), in one transaction."""
        async with self.db.session() as session, session.begin():
            recorded = await store.record_outcomes(
                session, at=out.at, sent=out.sent, retries=out.retries, failures=out.failures
            )
            await store.add_attempts(
                session,
                [
                    {
                        "delivery_id": r.id,
                        "attempt": r.attempts,
                        "at": out.at,
                        "outcome": "sent" if e is None else "error",
                        "error": e,
                    }
                    for r, e in zip(rows, errors, strict=True)
                ],
            )
            await add_events(session, [e for row_id, e in out.events if row_id in recorded])
