"""CloudEvents 1.0 in Kafka binary mode.

The payload is the Kafka value (JSON); the event's attributes travel as `ce_*` headers,
as the CloudEvents Kafka protocol binding says. The Kafka key is the aggregate's id so
that every event of one claim or one account lands on one partition, in order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from pydantic import BaseModel, ValidationError

from shared import context
from shared.events.catalogue import EventSpec, is_partner, spec_for_payload, spec_for_type

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

H_ID = "ce_id"
H_TYPE = "ce_type"
H_SOURCE = "ce_source"
H_SPECVERSION = "ce_specversion"
H_TIME = "ce_time"
H_SUBJECT = "ce_subject"
H_CORRELATION = "ce_correlationid"
H_TRACEPARENT = "ce_traceparent"
H_CONTENT_TYPE = "content-type"
# Plain W3C header too, so tracing tools that know nothing of CloudEvents follow the trace.
H_W3C_TRACEPARENT = "traceparent"


class InvalidEvent(ValueError):
    """An event that does not meet its contract; it goes to the dead-letter topic."""


@dataclass(frozen=True)
class Event:
    """One integration event: small, immutable, self-describing."""

    type: str
    source: str
    key: str
    data: BaseModel
    subject: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    traceparent: str | None = None

    @property
    def spec(self) -> EventSpec:
        return spec_for_type(self.type)

    @property
    def topic(self) -> str:
        return self.spec.topic


def new_event(data: BaseModel, *, source: str | None = None, subject: str | None = None) -> Event:
    """Wrap a payload from the catalogue, inheriting the current correlation and trace.

    A service's events name it as their source (`/services/<publisher>`, from the catalogue), so
    no module keeps its own SOURCE string; a partner's events must say who sends them."""
    spec = spec_for_payload(type(data))
    if source is None:
        if is_partner(spec.publisher):
            raise ValueError(f"{spec.type} is a partner event: pass the partner's source")
        source = f"/services/{spec.publisher}"
    ctx = context.current()
    key = spec.key_of(data)
    return Event(
        type=spec.type,
        source=source,
        key=key,
        data=data,
        subject=subject or key,
        correlation_id=ctx.correlation_id,
        traceparent=context.child_traceparent(ctx.traceparent),
    )


def headers_of(event: Event) -> dict[str, str]:
    """The binary-mode headers of an event, as text."""
    headers = {
        H_SPECVERSION: SPECVERSION,
        H_ID: str(event.id),
        H_TYPE: event.type,
        H_SOURCE: event.source,
        H_TIME: event.time.isoformat().replace("+00:00", "Z"),
        H_CONTENT_TYPE: CONTENT_TYPE,
    }
    if event.subject:
        headers[H_SUBJECT] = event.subject
    if event.correlation_id:
        headers[H_CORRELATION] = event.correlation_id
    if event.traceparent:
        headers[H_TRACEPARENT] = event.traceparent
        headers[H_W3C_TRACEPARENT] = event.traceparent
    return headers


def payload_bytes(event: Event) -> bytes:
    return event.data.model_dump_json().encode()


Encoded = tuple[str, bytes, bytes, list[tuple[str, bytes]]]


def encode(event: Event) -> Encoded:
    """(topic, key, value, headers) ready for a Kafka producer."""
    headers = [(k, v.encode()) for k, v in headers_of(event).items()]
    return event.topic, event.key.encode(), payload_bytes(event), headers


def text_headers(headers: Any) -> dict[str, str]:
    """Kafka headers as a dict of text (a header that is not UTF-8 makes the event invalid)."""
    result: dict[str, str] = {}
    for name, value in headers or ():
        try:
            result[name] = value.decode() if isinstance(value, bytes | bytearray) else str(value)
        except UnicodeDecodeError as exc:
            raise InvalidEvent(f"header {name} is not UTF-8") from exc
    return result


def decode(topic: str, key: bytes | None, value: bytes | None, headers: Any) -> Event:
    """Parse and validate one Kafka record against the catalogue.

    The reasons name the attribute or field and the rule, never the value, because a
    partner's event may carry protected health information.
    """
    h = text_headers(headers)
    for required in (H_ID, H_TYPE, H_SOURCE, H_SPECVERSION):
        if not h.get(required):
            raise InvalidEvent(f"missing CloudEvents header {required}")
    if h[H_SPECVERSION] != SPECVERSION:
        raise InvalidEvent(f"unsupported {H_SPECVERSION}; expected {SPECVERSION}")
    content_type = h.get(H_CONTENT_TYPE, CONTENT_TYPE).split(";")[0].strip()
    if content_type != CONTENT_TYPE:
        raise InvalidEvent(f"unsupported content-type; expected {CONTENT_TYPE}")
    try:
        event_id = uuid.UUID(h[H_ID])
    except ValueError as exc:
        raise InvalidEvent(f"{H_ID} is not a UUID") from exc
    try:
        spec = spec_for_type(h[H_TYPE])
    except KeyError as exc:
        raise InvalidEvent(f"unknown {H_TYPE}") from exc
    if spec.topic != topic:
        raise InvalidEvent(f"{H_TYPE} {spec.type} does not belong on topic {topic}")
    try:
        when = datetime.fromisoformat(h[H_TIME]) if h.get(H_TIME) else datetime.now(UTC)
    except ValueError as exc:
        raise InvalidEvent(f"{H_TIME} is not RFC 3339") from exc
    if value is None:
        raise InvalidEvent("empty payload")
    try:
        raw = json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent("payload is not valid JSON") from exc
    try:
        data = spec.payload.model_validate(raw)
    except ValidationError as exc:
        rules = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['type']}" for err in exc.errors()
        )
        raise InvalidEvent(f"payload breaks {spec.type} schema: {rules}") from exc
    return Event(
        type=spec.type,
        source=h[H_SOURCE],
        key=key.decode(errors="replace") if key else spec.key_of(data),
        data=data,
        subject=h.get(H_SUBJECT),
        id=event_id,
        time=when,
        correlation_id=context.valid_correlation_id(h.get(H_CORRELATION)),
        traceparent=h.get(H_TRACEPARENT) or h.get(H_W3C_TRACEPARENT),
    )


def records_of(
    events: Sequence[Event],
    *,
    partition: int = 0,
    first_offset: int = 0,
    encoder: Callable[[Event], Encoded] = encode,
) -> list[ConsumerRecord]:
    """The Kafka records a producer would write for `events` (as `encoder` makes them: a
    partner's events need a `PartnerSigner.encode`), on one partition at consecutive offsets.

    For replaying events through `EventConsumer.process` without a broker: tests and benchmarks
    drive the real decode, inbox and handlers with these instead of a poll."""
    records = []
    for offset, event in enumerate(events, start=first_offset):
        topic, key, value, headers = encoder(event)
        records.append(
            ConsumerRecord(
                topic=topic,
                partition=partition,
                offset=offset,
                timestamp=0,
                timestamp_type=0,
                key=key,
                value=value,
                checksum=None,
                serialized_key_size=len(key),
                serialized_value_size=len(value),
                headers=headers,
            )
        )
    return records
