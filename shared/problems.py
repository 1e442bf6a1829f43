"""Errors as RFC 9457 problem details (application/problem+json).

Every error a client can see goes through here, so each one has the same shape: a type
URI, a title, the HTTP status, a human detail and, for bad input, a list naming each
field and the rule it broke. Nothing here echoes the rejected value back, because that
value may be protected health information.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import context

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://revcycle.dev/problems/"

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    """One broken rule on one field."""

    field: str = Field(description="Where the problem is, e.g. `body.amount` or `header.Idempotency-Key`.")
    rule: str = Field(description="The rule that failed, e.g. `missing`, `greater_than`, `decimal_places`.")
    message: str = Field(description="What to change, in words.")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI identifying the kind of problem.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    correlation_id: str | None = Field(default=None, description="Quote this when asking for support.")
    errors: list[FieldError] | None = Field(
        default=None, description="The broken rules, the first MAX_PROBLEM_ERRORS (50) of them."
    )
    error_count: int | None = Field(
        default=None, description="How many rules the request broke in all (`errors` may list fewer)."
    )
    retryable: bool | None = Field(default=None, description="True when the same request may succeed later.")


class ProblemError(Exception):
    """Raise from service code to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        retryable: bool | None = None,
        headers: dict[str, str] | None = None,
        error_count: int | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.error_count = error_count if error_count is not None else (len(errors) if errors else None)
        self.retryable = retryable
        self.headers = headers


def invalid(*errors: FieldError | tuple[str, str, str], detail: str | None = None) -> ProblemError:
    """A 422 problem naming each field, the rule it broke and what to do, as (field, rule,
    message) or FieldError; never the rejected value (it may be PHI)."""
    return ProblemError(
        422,
        "validation-error",
        "The request is not valid",
        detail,
        errors=[
            e if isinstance(e, FieldError) else FieldError(field=e[0], rule=e[1], message=e[2])
            for e in errors
        ],
    )


def max_errors(request: Request) -> int:
    """How many broken rules a problem lists: the app's MAX_PROBLEM_ERRORS setting. A big bad
    body once drew a 15 MiB answer; the count of all of them stays in `error_count`."""
    app = request.scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return int(getattr(settings, "max_problem_errors", DEFAULT_MAX_ERRORS))


DEFAULT_MAX_ERRORS = 50


def problem_response(request: Request, problem: ProblemError, *, instance: str | None = None) -> JSONResponse:
    """Build the response; the only place a problem document is serialised. `instance` replaces
    the request's path where the path itself may hold the rejected value. Lists at most
    `max_errors` broken rules, with the count of all of them."""
    ctx = context.peek()
    body = Problem(
        type=PROBLEM_BASE + problem.slug,
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance=instance or request.url.path,
        correlation_id=ctx.correlation_id if ctx else None,
        errors=problem.errors[: max_errors(request)] if problem.errors is not None else None,
        error_count=problem.error_count,
        retryable=problem.retryable,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc) or "body"


_RULE_MESSAGES = {"missing": "This field is required.", "json_invalid": "The body is not valid JSON."}


def field_errors(errors: list[dict[str, Any]]) -> list[FieldError]:
    """Pydantic errors as field/rule pairs; `input` is dropped so no PHI is echoed."""
    result = []
    for err in errors:
        rule = str(err.get("type", "invalid"))
        message = _RULE_MESSAGES.get(rule) or str(err.get("msg", "Invalid value."))
        result.append(FieldError(field=_field_path(err.get("loc", ())), rule=rule, message=message))
    return result


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("body-too-large", "The body is too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "The request is not valid"),
    429: ("rate-limited", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
    return problem_response(request, exc)


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    raw = list(exc.errors())
    errors = field_errors(raw[: max_errors(request)])  # the rest are only counted
    if any(e.rule == "json_invalid" for e in errors):
        return problem_response(
            request,
            ProblemError(
                400,
                "malformed-json",
                "The body is not valid JSON",
                "Send a JSON document with Content-Type: application/json.",
                errors=errors,
            ),
        )
    return problem_response(
        request,
        ProblemError(
            422,
            "validation-error",
            "The request is not valid",
            f"{len(raw)} field(s) broke a rule; see `errors` (the first {len(errors)}).",
            errors=errors,
            error_count=len(raw),
        ),
    )


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slug, title = _STATUS_SLUGS.get(exc.status_code, ("error", "Error"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    return problem_response(request, ProblemError(exc.status_code, slug, title, detail, headers=exc.headers))


def log_unexpected(scope: Scope, exc: BaseException) -> None:
    """The one log line of an unhandled error: its type, the route template, the code
    locations and (through the logger) the correlation id. Never the message, the raw path or
    the chained database error: any of them may quote patient data or SQL parameters."""
    route = getattr(scope.get("route"), "path", "unmatched")
    frames = [
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}"
        for f in traceback.extract_tb(exc.__traceback__)[-8:]
    ]
    log.error("unhandled error", extra={"error_type": type(exc).__name__, "route": route, "frames": frames})


INTERNAL_ERROR = ProblemError(
    500,
    "internal-error",
    "Internal error",
    "The request failed on our side; nothing was saved. Quote the correlation id.",
    retryable=True,
)


class CatchAll:
    """ASGI middleware that ends every exception of a request here: logged PHI-safe by
    `log_unexpected`, answered 500 problem+json without detail.

    Starlette's own last-resort handler answers too but then re-raises, so the server printed
    "Exception in ASGI application" with the whole traceback, SQL parameters included, past our
    logger. Nothing escapes this middleware, so the server never sees an exception."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_unexpected(scope, exc)
            if not started:  # else the client sees the connection end mid-response
                template = (
                    getattr(scope.get("route"), "path", None) or "unmatched"
                )  # the raw path may hold PHI
                await problem_response(Request(scope), INTERNAL_ERROR, instance=template)(
                    scope, receive, send
                )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error path of the app answer with problem+json (unexpected ones through the
    CatchAll middleware, which create_app installs)."""
    app.add_exception_handler(ProblemError, _problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
