"""JSON logs with the correlation id, and no protected health information.

Logs carry ids, routes, status codes and timings only. Request and event bodies are
never logged, because they may hold names, birth dates, member ids or diagnoses.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from pythonjsonlogger.json import JsonFormatter

from shared import context


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.peek()
        record.service = self.service
        record.correlation_id = ctx.correlation_id if ctx else None
        record.trace_id = ctx.trace_id if ctx else None
        return True


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class PhiSafeJsonFormatter(JsonFormatter):
    """JSON lines whose tracebacks name exception types and code locations only.

    An exception's message is where patient data hides: a database error quotes the row
    ("Key (member_id)=(...)") and, through SQLAlchemy, the statement's parameters. Whoever
    logs with exc_info (our code, uvicorn's "Exception in ASGI application", a library) gets
    the chain of types and frames, never a message."""

    def formatException(self, ei: ExcInfo) -> str:
        parts: list[str] = []
        exc: BaseException | None = ei[1]
        seen: set[int] = set()
        while exc is not None and id(exc) not in seen and len(parts) < 5:
            seen.add(id(exc))
            frames = traceback.extract_tb(exc.__traceback__)[-8:]
            where = "; ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in frames)
            parts.append(f"{type(exc).__module__}.{type(exc).__qualname__} at {where or '?'}")
            exc = exc.__cause__ or exc.__context__
        return " <- ".join(parts)

    def formatStack(self, stack_info: str) -> str:
        return stack_info  # code locations only; no values


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, aiokafka's) through one JSON handler."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        PhiSafeJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s %(trace_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own loggers (its start-up lines and its "Exception in ASGI application") go
    # through this handler too, with its PHI-safe tracebacks.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The access log would print raw paths; our middleware logs route templates instead.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # httpx logs every request URL at INFO; URLs can carry member or account ids.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
