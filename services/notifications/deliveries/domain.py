"""Delivery rules without I/O: the events that tell operations how a notification went, the
retry schedule, and how long one send may take."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notifications.settings import NotificationSettings
from shared.events import Event, new_event
from shared.events.catalogue import NotificationFailed, NotificationSent
from shared.retry import backoff


def sent_event(row: dict[str, Any], at: datetime) -> Event:
    """`notification.sent` for a delivery row (or the in-app copy's columns)."""
    return new_event(
        NotificationSent(
            notification_id=row["notification_id"],
            recipient_id=row["recipient_id"],
            channel=row["channel"],
            template=row["template"],
            template_version=row["template_version"],
            cause_event_id=row["cause_event_id"],
            sent_at=at,
        )
    )


def failed_event(row: dict[str, Any], reason: str, attempts: int, at: datetime) -> Event:
    """`notification.failed` for a delivery that will not be sent (after `attempts` tries)."""
    return new_event(
        NotificationFailed(
            notification_id=row["notification_id"],
            recipient_id=row["recipient_id"],
            channel=row["channel"],
            template=row["template"],
            reason=reason,
            attempts=attempts,
            failed_at=at,
        )
    )


def retry_in(settings: NotificationSettings, attempts: int) -> float:
    """Seconds before try `attempts + 1`: base * 2^(attempts-1), capped, without jitter (as
    the schedule always was)."""
    return backoff(attempts, base=settings.retry_base_seconds, cap=settings.retry_max_seconds)


def deadline(settings: NotificationSettings, channel: str) -> float:
    """The most one send may take: twice the provider timeout (SMTP is several exchanges, and
    the client's timeout applies to each)."""
    return 2 * (settings.smtp_timeout_seconds if channel == "email" else settings.sms_timeout_seconds)
