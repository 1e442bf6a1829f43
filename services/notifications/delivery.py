"""The delivery worker: send due deliveries through their channel adapters, retry with backoff.

One round: claim a batch of due rows (`FOR UPDATE SKIP LOCKED`, so replicas share the work)
by pushing their `next_attempt_at` a lease into the future and counting the attempt; commit;
send them concurrently outside any transaction; then record each outcome in one transaction
with its `notification.sent` / `notification.failed` event (outbox). A replica that dies
mid-send leaves rows that come due again when the lease ends: email and SMS are at least once
at the provider boundary (the Message-ID is stable per delivery so receivers can drop a resend),
exactly once everywhere else.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from sqlalchemy import text

from services.notifications.channels import (
    Adapter,
    EmailAdapter,
    Outgoing,
    PermanentSendError,
    SendError,
    SmsAdapter,
)
from services.notifications.handlers import failed_event, sent_event
from services.notifications.rules import PUSH_CHANNELS
from services.notifications.settings import NotificationSettings, notification_settings
from shared.db import Database
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

_CLAIM = text(
    """
    UPDATE deliveries d
       SET next_attempt_at = now() + make_interval(secs => :lease), attempts = d.attempts + 1
     WHERE d.id IN (SELECT id FROM deliveries
                     WHERE status = 'pending' AND channel = :channel AND next_attempt_at <= now()
                     ORDER BY next_attempt_at
                     LIMIT :n
                     FOR UPDATE SKIP LOCKED)
    RETURNING d.id, d.notification_id, d.recipient_id, d.channel, d.address, d.template,
              d.template_version, d.subject, d.body, d.cause_event_id, d.attempts
    """
)
_SENT = text(
    "UPDATE deliveries SET status = 'sent', sent_at = :at, reason = NULL, last_error = NULL "
    "WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'pending'"
)
_RETRY = text(
    "UPDATE deliveries d SET next_attempt_at = u.next, last_error = u.error, reason = 'retrying' "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:nexts AS timestamptz[]), CAST(:errors AS text[])) "
    "AS u(id, next, error) WHERE d.id = u.id AND d.status = 'pending'"
)
_FAILED = text(
    "UPDATE deliveries d SET status = 'failed', last_error = u.error, reason = u.error "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:errors AS text[])) AS u(id, error) "
    "WHERE d.id = u.id AND d.status = 'pending'"
)
_ATTEMPT = text(
    "INSERT INTO delivery_attempts (delivery_id, attempt, at, outcome, error) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS int[]), CAST(:ats AS timestamptz[]), "
    "CAST(:outcomes AS text[]), CAST(:errors AS text[]))"
)


def backoff(settings: NotificationSettings, attempts: int) -> float:
    """Seconds before try `attempts + 1`: base * 2^(attempts-1), capped."""
    return min(settings.retry_base_seconds * 2 ** (attempts - 1), settings.retry_max_seconds)


class Sender:
    """The adapters of one app, and the rounds that use them."""

    def __init__(self, db: Database, settings: NotificationSettings) -> None:
        self.db = db
        self.settings = settings
        self.email = EmailAdapter(settings)
        # Per channel: a hanging provider can only tie up its own channel's slots.
        self.limits = {channel: asyncio.Semaphore(settings.send_concurrency) for channel in PUSH_CHANNELS}

    def deadline(self, channel: str) -> float:
        """The most one send may take: twice the provider timeout (SMTP is several exchanges,
        and the client's timeout applies to each)."""
        s = self.settings
        return 2 * (s.smtp_timeout_seconds if channel == "email" else s.sms_timeout_seconds)

    def lease(self, channel: str) -> float:
        """How long claimed rows stay invisible: longer than the slowest possible round (two
        rounds share the channel's slots), so no other round can claim and resend them."""
        s = self.settings
        waves = 2 * math.ceil(s.worker_batch_size / s.send_concurrency) + 1
        return max(s.lease_seconds, waves * self.deadline(channel) + 5)

    async def _send(self, adapters: dict[str, Adapter], row: Any) -> str | None:
        """None when sent, else the error; 'permanent:' prefix when retrying cannot help."""
        message = Outgoing(str(row.id), row.channel, row.address, row.subject, row.body)
        async with self.limits[row.channel]:
            try:
                with SEND_SECONDS.labels(row.channel).time():
                    async with asyncio.timeout(self.deadline(row.channel)):
                        await adapters[row.channel].send(message)
            except PermanentSendError as exc:
                return f"permanent: {exc}"
            except SendError as exc:
                return str(exc)
            except TimeoutError:
                return f"{row.channel}: deadline"
            except Exception as exc:  # an adapter bug must not stop the round
                return f"{row.channel}: {type(exc).__name__}"
        return None

    async def round(self, channel: str) -> int:
        """Send one batch of one channel's due deliveries; returns how many were claimed."""
        s = self.settings
        async with self.db.session() as session, session.begin():
            claim = {"lease": self.lease(channel), "n": s.worker_batch_size, "channel": channel}
            rows = (await session.execute(_CLAIM, claim)).all()
        if not rows:
            return 0
        # A client per round: no connection outlives the app, and rounds are short.
        async with httpx.AsyncClient() as http:
            adapters: dict[str, Adapter] = {"email": self.email, "sms": SmsAdapter(s, http)}
            errors = await asyncio.gather(*(self._send(adapters, r) for r in rows))
        now = datetime.now(UTC)
        events = []
        sent: list[Any] = []
        retry: dict[str, list[Any]] = {"ids": [], "nexts": [], "errors": []}
        failed: dict[str, list[Any]] = {"ids": [], "errors": []}
        for row, error in zip(rows, errors, strict=True):
            if error is None:
                sent.append(row.id)
                SEND_ATTEMPTS.labels(row.channel, "sent").inc()
                events.append(sent_event(row._asdict(), now))
            elif error.startswith("permanent:") or row.attempts >= s.max_attempts:
                failed["ids"].append(row.id)
                SEND_ATTEMPTS.labels(row.channel, "failed").inc()
                failed["errors"].append(error[:200])
                events.append(failed_event(row._asdict(), error[:200], row.attempts, now))
            else:
                retry["ids"].append(row.id)
                SEND_ATTEMPTS.labels(row.channel, "retry").inc()
                retry["nexts"].append(now + timedelta(seconds=backoff(s, row.attempts)))
                retry["errors"].append(error[:200])
        async with self.db.session() as session, session.begin():
            if sent:
                await session.execute(_SENT, {"ids": sent, "at": now})
            if retry["ids"]:
                await session.execute(_RETRY, retry)
            if failed["ids"]:
                await session.execute(_FAILED, failed)
            await session.execute(
                _ATTEMPT,
                {
                    "ids": [r.id for r in rows],
                    "attempts": [r.attempts for r in rows],
                    "ats": [now] * len(rows),
                    "outcomes": ["sent" if e is None else "error" for e in errors],
                    "errors": list(errors),
                },
            )
            await add_events(session, events)
        for row, error in zip(rows, errors, strict=True):
            if error is not None:
                log.info(
                    "send failed", extra={"channel": row.channel, "attempt": row.attempts, "error": error}
                )
        return len(rows)


def _sender(app: FastAPI) -> Sender:
    sender: Sender | None = getattr(app.state, "notification_sender", None)
    if sender is None:
        sender = Sender(app.state.db, notification_settings(app))
        app.state.notification_sender = sender
    return sender


def deliver_due(channel: str) -> Callable[[FastAPI], Awaitable[None]]:
    """A worker step for one channel: drain what is due, batch after batch, then let the loop
    sleep. One loop per channel, so a slow SMS provider never holds up email, nor the reverse."""

    async def step(app: FastAPI) -> None:
        sender = _sender(app)

        async def drain() -> None:
            while await sender.round(channel) >= sender.settings.worker_batch_size:
                pass

        # Two rounds in flight: one sends while the other claims or records (the lease keeps
        # them off each other's rows), so the provider is never idle between batches.
        await asyncio.gather(drain(), drain())

    step.__name__ = f"deliver_{channel}"
    return step
