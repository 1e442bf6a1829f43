"""Request and response models of the dead-letter routes (and the command line's output)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import RowMapping

from shared.deadletters.domain import parse_age
from shared.events.catalogue import dlq_topic

Reason = Literal["schema", "rule", "error"]
Status = Literal["parked", "replayed", "discarded"]


class DeadLetter(BaseModel):
    """One dead letter as the index has it: no payload (see the single-letter route)."""

    id: uuid.UUID
    topic: str = Field(description="The original topic; a replay goes back there.")
    reason: Reason = Field(
        description="schema: breaks its event contract; rule: a handler refused it for a business rule; "
        "error: a handler kept failing otherwise while its database answered."
    )
    error: str = Field(description="What failed, naming the rule or the error type (never patient data).")
    attempts: int
    failed_at: datetime
    age_seconds: int
    event_id: str | None = Field(description="The CloudEvents id (`ce_id`); a replay keeps it.")
    event_type: str | None
    key: str | None = Field(description="The Kafka key (the aggregate id); a replay keeps it.")
    status: Status
    replays: int
    last_replayed_at: datetime | None
    decided_by: str | None = Field(description="Who last replayed or discarded it.")
    decided_at: datetime | None
    note: str | None = Field(description="Why it was discarded.")
    consumer_group: str
    original_partition: int
    original_offset: int
    dlq_topic: str
    dlq_partition: int
    dlq_offset: int

    @classmethod
    def of(cls, row: RowMapping) -> DeadLetter:
        age = (datetime.now(UTC) - row["failed_at"]).total_seconds()
        return cls(
            **{k: v for k, v in row.items() if k in cls.model_fields},
            key=row["event_key"],
            age_seconds=max(int(age), 0),
            dlq_topic=dlq_topic(row["topic"]),
        )


class DeadLetterDetail(DeadLetter):
    """A dead letter with its record: headers, and the payload (PHI redacted unless the caller
    has `ops:phi`)."""

    headers: dict[str, str]
    payload: Any
    payload_redacted: bool


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")
    index_current: bool = Field(
        description="False when Kafka could not be read just now: letters parked since the last "
        "look are missing."
    )


class ReplayMatching(BaseModel):
    """Which parked dead letters to replay (all of this service's when empty)."""

    topic: str | None = None
    reason: Reason | None = None
    event_id: str | None = Field(default=None, max_length=100)
    older_than: str | None = Field(default=None, description="An age: 90s, 15m, 2h, 3d.")
    limit: int = Field(default=1000, ge=1, le=10000)

    @field_validator("older_than")
    @classmethod
    def _age(cls, value: str | None) -> str | None:
        if value is not None:
            parse_age(value)
        return value


class ReplayResult(BaseModel):
    replayed: int
    ids: list[uuid.UUID]
    missing: list[uuid.UUID] = Field(description="Matching letters whose records Kafka no longer holds.")


class Discard(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="Why it is given up (kept with it).")
