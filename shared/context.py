"""Request-scoped correlation: a correlation id and a W3C traceparent.

They are set from the HTTP request (or from the consumed event) and copied into every
event that work causes, so one patient visit can be followed across services and topics
without logging anything about the patient.
"""

from __future__ import annotations

import re
import secrets
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_CORRELATION = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@dataclass(frozen=True)
class TraceContext:
    """What travels with a unit of work."""

    correlation_id: str
    traceparent: str

    @property
    def trace_id(self) -> str:
        return self.traceparent.split("-")[1]


_current: ContextVar[TraceContext | None] = ContextVar("trace_context", default=None)


def new_traceparent(trace_id: str | None = None) -> str:
    """A traceparent for a new span, in the given trace or a new one."""
    return f"00-{trace_id or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def child_traceparent(parent: str | None) -> str:
    """Continue the caller's trace with a span of our own; start one if the header is bad."""
    match = _TRACEPARENT.match(parent or "")
    if not match or match.group(1) == "0" * 32:
        return new_traceparent()
    return new_traceparent(match.group(1))


def valid_correlation_id(value: str | None) -> str | None:
    """Accept a caller's correlation id only if it is a short token (never free text)."""
    if value and _CORRELATION.match(value):
        return value
    return None


def start(correlation_id: str | None = None, traceparent: str | None = None) -> TraceContext:
    """Begin a unit of work, continuing what the caller sent where it is well-formed."""
    ctx = TraceContext(
        correlation_id=valid_correlation_id(correlation_id) or str(uuid.uuid4()),
        traceparent=child_traceparent(traceparent),
    )
    _current.set(ctx)
    return ctx


def current() -> TraceContext:
    """The current context; work outside any request gets a fresh one."""
    ctx = _current.get()
    if ctx is None:
        ctx = start()
    return ctx


def peek() -> TraceContext | None:
    """The current context if one was started (for log records)."""
    return _current.get()


def reset() -> None:
    _current.set(None)
