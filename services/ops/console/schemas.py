"""What the console answers: each service's operations view (the contract of its
`GET /v1/ops/overview`, plus whether it could be read at all) and dead letters across services."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.deadletters.schemas import DeadLetter

# pass/warn/fail: the service's own readiness verdict. down: it did not answer (refused
# connection, timeout, a gateway error). unknown: it answered but would not tell this token.
Health = Literal["pass", "warn", "fail", "down", "unknown"]


class Check(BaseModel):
    """One readiness check that is not passing (the reason behind a warn or fail)."""

    name: str
    status: str
    output: str | None = None
    observed: Any = None


class ConsumerLag(BaseModel):
    group: str
    topic: str
    lag: int | None = Field(description="Null when Kafka could not say (then `error` says why).")
    error: str | None = None


class Outbox(BaseModel):
    backlog: int | None = Field(default=None, description="Null when its database could not be read.")
    oldest_age_seconds: float | None = None


class DeadLetterCount(BaseModel):
    topic: str
    count: int
    newest_age_seconds: float | None = None


class StuckQueue(BaseModel):
    queue: str
    count: int
    oldest_age_seconds: float | None = None
    state: str = Field(default="ok", description="`ok` or `warn` (over its threshold).")


class ServiceView(BaseModel):
    """One service as the console saw it just now."""

    service: str
    url: str
    health: Health
    problem: str | None = Field(
        default=None, description="Why the view is incomplete: unreachable, timed out, token refused, ..."
    )
    checks: list[Check] = Field(default_factory=list, description="Readiness checks not passing.")
    consumers: list[ConsumerLag] = Field(default_factory=list)
    outbox: Outbox | None = None
    dead_letters: list[DeadLetterCount] = Field(default_factory=list)
    stuck_work: list[StuckQueue] = Field(default_factory=list)


class Overview(BaseModel):
    generated_at: datetime
    services: list[ServiceView]


class ConsoleDeadLetter(DeadLetter):
    """A dead letter with the service whose consumer parked it."""

    service: str


class Source(BaseModel):
    """Whether a service's dead letters could be listed."""

    service: str
    listed: bool
    problem: str | None = None
    index_current: bool | None = None


class DeadLetters(BaseModel):
    items: list[ConsoleDeadLetter] = Field(description="Newest first, across services, every state.")
    sources: list[Source]


class Discard(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="Why it is given up (kept with it).")
