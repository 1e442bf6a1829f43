"""Integration events: CloudEvents envelope, the typed catalogue, and the AsyncAPI document."""

from shared.events.catalogue import CATALOGUE, TOPICS, EventSpec, spec_for_payload, spec_for_type
from shared.events.envelope import Event, InvalidEvent, decode, encode, new_event

__all__ = [
    "CATALOGUE",
    "TOPICS",
    "Event",
    "EventSpec",
    "InvalidEvent",
    "decode",
    "encode",
    "new_event",
    "spec_for_payload",
    "spec_for_type",
]
