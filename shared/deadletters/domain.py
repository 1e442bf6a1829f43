"""Pure rules of dead letters, no I/O: the headers a parked record carries, what a replay sends,
a dead letter's id and index row, ages as operators type them, and PHI redaction by schema."""

from __future__ import annotations

import json
import re
import types
import typing
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from shared.events.catalogue import (
    CATALOGUE,
    ClaimStatusCode,
    ClaimSubmitted,
    Coverage,
    EncounterCompleted,
    OtherPayer,
    PaymentPosted,
    Person,
    RejectionReason,
    RemittanceReceived,
)
from shared.events.frontoffice import Demographics, DiscrepancyField, RegisteredCoverage

DLQ_PREFIX = "dlq_"
# schema: the record breaks its contract (it cannot be read as its event type);
# rule: a handler refused it for a business rule (PermanentError);
# error: a handler kept failing otherwise, while its database answered (a bug, or data the code
#        does not expect).
REASONS = ("schema", "rule", "error")
STATUSES = ("parked", "replayed", "discarded")
_ID_NAMESPACE = uuid.UUID("6f1c1c62-3c4b-4a51-9d0e-4c1d6a6a0d16")


def dead_letter_headers(
    record: Any, *, group: str, error: str, attempts: int, reason: str | None = None
) -> list[tuple[str, bytes]]:
    """The record's own headers plus why it was parked, where it came from and how often it was
    tried. Every consumer that dead-letters (services and partner sandboxes) writes these."""
    reason = reason or _reason_of(error)
    headers = original_headers(record.headers)
    headers += [
        ("dlq_original_topic", record.topic.encode()),
        ("dlq_original_partition", str(record.partition).encode()),
        ("dlq_original_offset", str(record.offset).encode()),
        ("dlq_consumer_group", group.encode()),
        ("dlq_reason", reason.encode()),
        ("dlq_error", error[:1000].encode()),
        ("dlq_attempts", str(attempts).encode()),
        ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
    ]
    return headers


def _reason_of(error: str) -> str:
    """The reason of a record parked without one (older records, partners' consumers)."""
    return "schema" if error.startswith(("schema:", "decode:")) else "error"


def dlq_headers(record: Any) -> dict[str, str]:
    """The dead-letter headers of a record, as text (for tests and operators)."""
    return {k: v.decode() for k, v in (record.headers or ()) if k.startswith(DLQ_PREFIX)}


def original_headers(headers: Any) -> list[tuple[str, bytes]]:
    """A record's headers without the dead-letter ones: what a replay sends with the original
    value and key, so the event keeps its id (the consumers' inboxes dedupe by it)."""
    return [(k, v) for k, v in (headers or ()) if not k.startswith(DLQ_PREFIX)]


def letter_id(dlq_topic: str, partition: int, offset: int) -> uuid.UUID:
    """A dead letter's id: derived from where it is on its dead-letter topic, so indexing a
    record again (another replica, a rebuilt index) gives the same id."""
    return uuid.uuid5(_ID_NAMESPACE, f"{dlq_topic}/{partition}/{offset}")


def index_row(record: Any) -> dict[str, Any]:
    """The index columns of a parked record (no payload: that stays in Kafka). Whoever parked
    it, a header that cannot be read falls back to a default instead of stopping the index."""
    h = {k: v.decode(errors="replace") for k, v in (record.headers or ()) if isinstance(v, bytes)}
    error = h.get("dlq_error", "")
    reason = h.get("dlq_reason") or _reason_of(error)
    return {
        "id": letter_id(record.topic, record.partition, record.offset),
        "consumer_group": h.get("dlq_consumer_group", ""),
        "topic": h.get("dlq_original_topic") or record.topic.removesuffix(".dlq"),
        "original_partition": _number(h.get("dlq_original_partition"), -1),
        "original_offset": _number(h.get("dlq_original_offset"), -1),
        "dlq_partition": record.partition,
        "dlq_offset": record.offset,
        "event_id": h.get("ce_id", "")[:100] or None,
        "event_type": h.get("ce_type", "")[:100] or None,
        "event_key": record.key.decode(errors="replace")[:200] if record.key else None,
        "reason": reason if reason in REASONS else "error",
        "error": error,
        "attempts": _number(h.get("dlq_attempts"), 1),
        "failed_at": _moment(h.get("dlq_failed_at")) or datetime.fromtimestamp(record.timestamp / 1000, UTC),
    }


def _number(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _moment(text: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


_AGE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> timedelta:
    """An age as operators type it: `90` or `90s`, `15m`, `2h`, `3d`. ValueError otherwise."""
    match = _AGE.match(text)
    if not match:
        raise ValueError("an age is a number with s, m, h or d (e.g. 15m, 2h, 3d)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


# --- PHI redaction --------------------------------------------------------------------------

REDACTED = "[redacted]"
# What of each payload is protected health information. Callers without the PHI scope
# (`ops:phi`) see these replaced: names, birth dates, addresses and phones (Person: patients,
# subscribers, guarantors; Demographics: the registry's), member ids (Coverage, OtherPayer,
# RegisteredCoverage), diagnoses, the raw X12 (an 837P or 835 holds all of the above), and a
# partner's free text (a rejection message, a 277's STC12: it may quote a name). Fields a
# payload's schema does not know are redacted too: they could hold anything.
PHI_FIELDS: dict[type[BaseModel], frozenset[str]] = {
    Person: frozenset({"first_name", "last_name", "birth_date", "address", "phone"}),
    Coverage: frozenset({"member_id"}),
    OtherPayer: frozenset({"member_id"}),
    # An institutional encounter's facility block is clinical through and through: admitting
    # diagnosis, POA keyed by diagnosis code, ICD-10-PCS procedures, the admission and discharge.
    EncounterCompleted: frozenset({"diagnoses", "institutional"}),
    # A DRG names the diagnosis group a stay was paid by ("HIV with MCC", "alcohol abuse").
    PaymentPosted: frozenset({"drg_code"}),
    ClaimSubmitted: frozenset({"x12_837"}),
    RemittanceReceived: frozenset({"x12_835"}),
    RejectionReason: frozenset({"message"}),
    ClaimStatusCode: frozenset({"free_text"}),
    # The front office's registry (patient.updated, coverage.updated: patients, guarantors and
    # subscribers) and a 271's disagreement with it (both values: names, birth dates, addresses,
    # member ids).
    Demographics: frozenset(
        {"first_name", "middle_name", "last_name", "birth_date", "address", "phone", "email"}
    ),
    RegisteredCoverage: frozenset({"member_id"}),
    DiscrepancyField: frozenset({"registry_value", "payer_value"}),
}


def redact(event_type: str | None, payload: bytes | None) -> Any:
    """The payload for someone who may not see PHI: its event type's schema says which fields
    are PHI; a payload that is not JSON, or of a type we do not know, is withheld whole."""
    if payload is None:
        return None
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return f"[withheld: {len(payload)} bytes that are not JSON]"
    spec = CATALOGUE.get(event_type or "")
    if spec is None:
        return f"[withheld: {len(payload)} bytes of an unknown event type]"
    return _redact(spec.payload, data)


def readable(payload: bytes | None) -> Any:
    """The payload as it is (for callers with the PHI scope): JSON when it parses, else text."""
    if payload is None:
        return None
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return payload.decode(errors="replace")


def _redact(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        return REDACTED
    phi = PHI_FIELDS.get(model, frozenset())
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None or (key in phi and value is not None):
            out[key] = REDACTED
            continue
        nested = _model_in(field.annotation)
        if nested is None or value is None:
            out[key] = value
        elif isinstance(value, list):
            out[key] = [_redact(nested, item) for item in value]
        else:
            out[key] = _redact(nested, value)
    return out


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The payload model inside an annotation (`Person | None`, `list[Coverage]`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def patient_of(payload: bytes | None) -> str | None:
    """The patient an event is about (its `patient_id`), for the audit entry of reading it."""
    try:
        value = json.loads(payload or b"").get("patient_id")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    return str(value)[:128] if value else None
