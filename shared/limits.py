"""Limits every service applies before a route runs: how big a body may be, and how many
requests one client may send (issue 17 item 7; docs/operations.md, "Limits").

One 10 MB eligibility batch once froze a service for two minutes: the body was read, parsed
and validated item by item before anything said "too big". Here, in front of the input guard:

- **Body size, per route.** Each operation with a body has a body class: `file` when it
  takes anything but JSON (an 835, a BAI2 or CSV deposit file, a fee schedule), `batch` when
  the route says so (`openapi_extra=BATCH_BODY`), else `json`; settings give each class its
  limit (BODY_LIMIT_JSON_BYTES, ..._BATCH_..., ..._FILE_...). A Content-Length over the limit
  is answered 413 at once, before a byte is read; a body without one (chunked) is counted as
  it arrives and refused as soon as it passes the limit. Requests for no route (and
  operations without a body) get the JSON limit.
- **Requests per client, per route class** (`read`: GET; `write`: other methods; `bulk`:
  batches and file uploads), with the `limits` library's moving window: 429 with Retry-After
  when over. A client is the verified token's subject, else (no or a bad token) the client
  address, so a flood of bad tokens is limited too. Health, metrics and the API documents are
  never limited.

`limit_openapi(doc, settings)` writes both into the OpenAPI document (`x-max-body-bytes`,
`x-rate-limit`, and the 413/429 answers naming them), and the middleware reads them from
there: what clients read is what the service enforces.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth import TokenVerifier
from shared.config import Settings
from shared.inputs import Operations, buffer_body
from shared.problems import PROBLEM_JSON, ProblemError, problem_response

log = logging.getLogger(__name__)

BATCH_BODY: dict[str, Any] = {"x-body-class": "batch"}  # openapi_extra of a route taking a batch
UNLIMITED = ("/health", "/metrics", "/openapi.json", "/docs", "/redoc", "/asyncapi")
_READS = ("GET", "HEAD", "OPTIONS")


def body_class(operation: dict[str, Any]) -> str:
    """`file`, `batch` or `json`: which of the settings' body limits an operation has."""
    content = operation.get("requestBody", {}).get("content", {})
    if any(media != "application/json" for media in content):
        return "file"
    return str(operation.get("x-body-class", "json"))


def body_limit(settings: Settings, operation: dict[str, Any] | None) -> int:
    kind = body_class(operation) if operation else "json"
    return int(getattr(settings, f"body_limit_{kind}_bytes"))


def rate_class(method: str, operation: dict[str, Any]) -> str:
    if "requestBody" in operation and body_class(operation) != "json":
        return "bulk"
    return "read" if method.upper() in _READS else "write"


def _answer(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


def limit_openapi(doc: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Write each operation's body limit and rate limit into the document (in place), with the
    413 and 429 answers naming them. The API documents and health are left unlimited."""
    doc.setdefault("components", {}).setdefault("schemas", {})
    for template, operations in doc.get("paths", {}).items():
        if template.startswith(UNLIMITED):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                limit = body_limit(settings, operation)
                operation["x-max-body-bytes"] = limit
                responses["413"] = _answer(f"The body is larger than this route's limit of {limit} bytes.")
            kind = rate_class(method, operation)
            rate = getattr(settings, f"rate_limit_{kind}")
            operation["x-rate-limit"] = {"class": kind, "limit": rate}
            responses["429"] = _answer(
                f"Too many {kind} requests from one client (at most {rate}); retry after the "
                "Retry-After header's seconds."
            )
    return doc


class RateLimiter:
    """Hits per client and route class, in the storage RATE_LIMIT_STORAGE_URI names."""

    def __init__(self, settings: Settings) -> None:
        uri = settings.rate_limit_storage_uri
        self.limiter = MovingWindowRateLimiter(storage_from_string(uri if "+" in uri else f"async+{uri}"))
        self.items: dict[str, list[RateLimitItem]] = {
            kind: parse_many(getattr(settings, f"rate_limit_{kind}")) for kind in ("read", "write", "bulk")
        }

    async def refuse(self, kind: str, client: str) -> ProblemError | None:
        """Count one request; a 429 problem (with Retry-After) when it is one too many. When
        the storage fails (a shared Redis down), requests pass: a limit must not become an
        outage of its own."""
        for item in self.items[kind]:
            try:
                if await self.limiter.hit(item, kind, client):
                    continue
                stats = await self.limiter.get_window_stats(item, kind, client)
            except Exception as exc:
                log.warning("rate limit storage failed", extra={"error_type": type(exc).__name__})
                return None
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            return ProblemError(
                429,
                "rate-limited",
                "Too many requests",
                f"At most {item} for {kind} requests from one client; retry in {wait} s.",
                retryable=True,
                headers={"Retry-After": str(wait)},
            )
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        413,
        "body-too-large",
        "The body is too large",
        f"This route takes a body of at most {limit} bytes; split the request or send less.",
        headers={"Connection": "close"},  # the rest of the body is never read
    )


class Limits:
    """ASGI middleware: the rate limit, then the body limit (see the module docstring); the
    route and the input guard behind it never see a request over either."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        verifier: TokenVerifier,
        document: Callable[[], dict[str, Any]],
    ) -> None:
        self.app = app
        self.settings = settings
        self.verifier = verifier
        self.operations = Operations(document)
        self.rates = RateLimiter(settings) if settings.rate_limit_enabled else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNLIMITED):
            await self.app(scope, receive, send)
            return
        found = self.operations.find(scope["path"], scope["method"])
        operation = found[2] if found else None
        if self.rates is not None:
            kind = rate_class(scope["method"], operation or {})
            refused = await self.rates.refuse(kind, await self._client(scope))
            if refused is not None:
                await self._refuse(scope, receive, send, refused, found)
                return
        limit = body_limit(self.settings, operation)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit():
            if int(declared) > limit:
                await self._refuse(scope, receive, send, _too_large(limit), found)
                return
        elif _header(scope, b"transfer-encoding") is not None:
            body, receive = await buffer_body(receive, limit)
            if body is None:
                await self._refuse(scope, receive, send, _too_large(limit), found)
                return
        await self.app(scope, receive, send)

    async def _client(self, scope: Scope) -> str:
        """The token's subject when the token verifies, else the client's address."""
        authorization = _header(scope, b"authorization") or ""
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            try:
                return "sub:" + (await self.verifier.verify(credentials.strip())).subject
            except ProblemError:
                pass
        client = scope.get("client")
        return "addr:" + (client[0] if client else "unknown")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, problem: ProblemError, found: Any) -> None:
        template = found[0] if found else "unmatched"  # the raw path may hold PHI
        await problem_response(Request(scope), problem, instance=template)(scope, receive, send)
