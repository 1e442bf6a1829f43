"""Generates the AsyncAPI 3.0 document of the event catalogue.

Partners publish and consume from this document alone: channels (topics), message
schemas, the CloudEvents headers, keys, who publishes and who consumes. The committed
copy is docs/asyncapi.json (`python -m shared.events.asyncapi > docs/asyncapi.json`); a
test fails when it drifts from the code, and every service serves it at /asyncapi.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic.json_schema import models_json_schema

from shared.events.catalogue import _SPECS, EventSpec, dlq_topic, is_partner
from shared.events.signing import H_SIGNATURE, H_SIGNATURE_KEY_ID, KEY_ID

CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary mode (values are UTF-8 header bytes).",
    "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {
            "type": "string",
            "format": "uuid",
            "description": "Unique per event; consumers de-duplicate on it.",
        },
        "ce_type": {"type": "string", "description": "`<topic>.v<version>`, e.g. `claim.submitted.v1`."},
        "ce_source": {
            "type": "string",
            "description": "Publishing service or partner, e.g. `/services/claims`.",
        },
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "The aggregate id (same as the key)."},
        "ce_correlationid": {"type": "string", "description": "Correlation id of the originating request."},
        "ce_traceparent": {
            "type": "string",
            "description": "W3C traceparent (distributed tracing extension).",
        },
        "traceparent": {
            "type": "string",
            "description": "The same W3C traceparent, for non-CloudEvents tools.",
        },
        "content-type": {"type": "string", "const": "application/json"},
    },
}

# A partner's events (publisher the EHR or the clearinghouse) carry its signature as well;
# the canonical form is in shared/events/signing.py and docs/partners.md.
SIGNED_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": (
        "The CloudEvents headers of a partner's event, plus its Ed25519 signature (required): "
        "the signature covers the key id, ce_id, ce_type, ce_source, ce_time, the Kafka key and "
        "the SHA-256 of the value, one per line (docs/partners.md). A consumer checks it with the "
        "public keys of the type's catalogue publisher; a missing or bad signature parks the "
        "record on the dead-letter topic before any handler runs."
    ),
    "required": [*CE_HEADERS["required"], "ce_time", H_SIGNATURE, H_SIGNATURE_KEY_ID],
    "properties": {
        **CE_HEADERS["properties"],
        H_SIGNATURE: {
            "type": "string",
            "contentEncoding": "base64",
            "description": "Base64 of the 64-byte Ed25519 signature of the canonical form.",
        },
        H_SIGNATURE_KEY_ID: {
            "type": "string",
            "pattern": f"^{KEY_ID.pattern}$",
            "description": "Which of the partner's keys signed (two are valid while rotating).",
        },
    },
}

DLQ_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "Original headers plus why the record was parked.",
    "properties": {
        "dlq_original_topic": {"type": "string"},
        "dlq_original_partition": {"type": "string"},
        "dlq_original_offset": {"type": "string"},
        "dlq_consumer_group": {"type": "string"},
        "dlq_error": {"type": "string", "description": "The rule broken or the error type; never data."},
        "dlq_attempts": {"type": "string"},
        "dlq_failed_at": {"type": "string", "format": "date-time"},
    },
}


def _who(name: str) -> str:
    partners = {
        "ehr": "the EHR",
        "collections": "the collections agency",
    }
    if is_partner(name):
        return partners.get(name, f"the {name} (partner)")
    return f"the {name} service"


def _message(spec: EventSpec) -> dict[str, Any]:
    signed = is_partner(spec.publisher)
    headers = "SignedPartnerEventHeaders" if signed else "CloudEventsKafkaHeaders"
    return {
        "name": spec.type,
        "title": spec.payload.__name__,
        "summary": spec.summary + (f" Signed with {_who(spec.publisher)}'s key." if signed else ""),
        "contentType": "application/json",
        "headers": {"$ref": f"#/components/schemas/{headers}"},
        "payload": {"$ref": f"#/components/schemas/{spec.payload.__name__}"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"Aggregate id: {' or '.join(spec.key_fields)}."},
                "bindingVersion": "0.5.0",
            }
        },
    }


def _channels(spec: EventSpec) -> dict[str, Any]:
    """The topic and its dead-letter topic."""
    return {
        spec.topic: {
            "address": spec.topic,
            "description": f"{spec.summary} Published by {_who(spec.publisher)}; consumed by "
            + ", ".join(_who(c) for c in spec.consumers)
            + ".",
            "messages": {spec.type: {"$ref": f"#/components/messages/{spec.type}"}},
        },
        dlq_topic(spec.topic): {
            "address": dlq_topic(spec.topic),
            "description": f"Dead letters of {spec.topic}: records a consumer could not handle.",
            "messages": {"deadLetter": {"$ref": "#/components/messages/deadLetter"}},
        },
    }


def _operations(spec: EventSpec) -> dict[str, Any]:
    """Who sends the event and who receives it."""
    message = [{"$ref": f"#/channels/{spec.topic}/messages/{spec.type}"}]
    channel = {"$ref": f"#/channels/{spec.topic}"}
    operations: dict[str, Any] = {
        f"{spec.topic}.publish": {
            "action": "send",
            "channel": channel,
            "summary": f"{_who(spec.publisher).capitalize()} publishes {spec.type}.",
            "messages": message,
        }
    }
    for consumer in spec.consumers:
        operations[f"{spec.topic}.receive.{consumer}"] = {
            "action": "receive",
            "channel": channel,
            "summary": f"{_who(consumer).capitalize()} consumes {spec.type}.",
            "messages": message,
        }
    return operations


_INFO = {
    "title": "Revenue-cycle platform events",
    "version": "1.0.0",
    "description": (
        "Integration events between the eligibility, claims, payments and notifications "
        "services and partner systems. CloudEvents 1.0 in Kafka binary mode; JSON payloads; "
        "money as decimal strings. Each aggregate's events share a key, so they stay in order. "
        "Consumers must de-duplicate on `ce_id`. A partner's events are signed with the "
        "partner's Ed25519 key (`ce_signature`, `ce_signaturekeyid`); services' events are not."
    ),
}
_SERVERS = {
    "local": {
        "host": "127.0.0.1:9092",
        "protocol": "kafka",
        "description": "Development broker started by `make up`.",
    }
}
_DEAD_LETTER = {
    "name": "deadLetter",
    "summary": "A record parked by a consumer, with the reason in its headers.",
    "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
    "payload": {"description": "The original record value, unchanged."},
}


@lru_cache
def document() -> dict[str, Any]:
    """The whole AsyncAPI document, deterministic so the committed copy can be compared."""
    _, defs = models_json_schema(
        [(spec.payload, "validation") for spec in _SPECS], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(sorted(defs.get("$defs", {}).items()))
    schemas["CloudEventsKafkaHeaders"] = CE_HEADERS
    schemas["SignedPartnerEventHeaders"] = SIGNED_HEADERS
    schemas["DeadLetterHeaders"] = DLQ_HEADERS
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in _SPECS:
        messages[spec.type] = _message(spec)
        channels |= _channels(spec)
        operations |= _operations(spec)
    messages["deadLetter"] = _DEAD_LETTER
    return {
        "asyncapi": "3.0.0",
        "info": _INFO,
        "defaultContentType": "application/json",
        "servers": _SERVERS,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
