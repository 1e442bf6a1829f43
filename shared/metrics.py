"""Prometheus metrics: HTTP traffic by route, events by topic, outbox backlog, consumer lag,
stuck work and dead letters.

Labels are route templates and topic names only; never ids, so no PHI reaches a metric.
Every series carries the service name, so several services can share one process in tests.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled.", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVENTS_PUBLISHED = Counter(
    "events_published_total", "Events the outbox relay published.", ["service", "topic"]
)
EVENTS_CONSUMED = Counter(
    "events_consumed_total",
    "Events handled (first delivery) or skipped as duplicates.",
    ["service", "topic", "outcome"],
)
EVENTS_RETRIED = Counter(
    "events_retried_total", "Handler attempts that failed and were retried.", ["service", "topic"]
)
EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered_total", "Events parked on a dead-letter topic.", ["service", "topic", "reason"]
)
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published.", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row.", ["service"]
)
CONSUMER_LAG = Gauge(
    "consumer_lag",
    "Records between the consumer's position and the high watermark.",
    ["service", "topic", "partition"],
)


def record_lag(service: str, topic: str, partition: int, high: int | None, next_offset: int) -> None:
    """A partition's consumer_lag after a commit: records between the next offset and the high
    watermark (left as it was while the watermark is unknown)."""
    if high is not None:
        CONSUMER_LAG.labels(service, topic, str(partition)).set(max(high - next_offset, 0))


STUCK_WORK_ITEMS = Gauge(
    "stuck_work_items",
    "Items in a queue of stuck work (shared.stuckwork): what only a person or a fix empties.",
    ["service", "queue"],
)
STUCK_WORK_OLDEST_AGE = Gauge(
    "stuck_work_oldest_age_seconds",
    "Age of the oldest item of a stuck-work queue (0 when empty).",
    ["service", "queue"],
)
DEAD_LETTERS_PARKED = Gauge(
    "dead_letters_parked",
    "Dead letters of the service's consumer group waiting for an operator.",
    ["service", "topic"],
)
DEAD_LETTERS_LAST_HOUR = Gauge(
    "dead_letters_parked_last_hour", "Dead letters parked in the last hour (growth).", ["service", "topic"]
)
