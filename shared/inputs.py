"""What the database can store, checked once for every route before the route runs.

PostgreSQL refuses a NUL character in text, an integer column is int4, and a date plus an
interval beyond year 9999 overflows in Python and in SQL. Pydantic lets all three through
(a `str`, an `int`, a `date`), so before this guard they reached the database and came back
as 500s, with the value in the server's traceback. Here:

- `bound_openapi(doc)` writes the storage bounds into the OpenAPI document wherever a client
  sends an integer or a date and the route did not declare tighter ones: int4 for integers,
  1900-01-01..2100-12-31 for dates (as `formatMinimum`/`formatMaximum`);
- `InputGuard` (ASGI middleware) checks every request against that same document: no NUL in
  any path or query parameter, JSON string or key, or text body, and the documented bounds for
  integers and dates, and each array's documented `maxItems` (checked before its items, so an
  oversized batch costs no per-item work). A request that breaks one gets 422 problem+json naming each field
  (`query.actor`, `body.subscriber.first_name`) and the rule, never the value.

What is documented is what is enforced, so a route gets the checks by being in the document;
no route or schema needs a special type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import FieldError, invalid, problem_response

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL integer (int4)
DATE_MIN, DATE_MAX = "1900-01-01", "2100-12-31"
# The longest span of days between two sane dates: the bound of a "days ago" parameter, whose
# `now - timedelta(days=...)` overflows long before int4 does.
MAX_DAYS = 73_048
_DATE_FORMATS = ("date", "date-time")
_DAY = re.compile(r"^\s*([+-]?\d{4,})-(\d{2})-(\d{2})")
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_TEXT_BODIES = ("text/", "application/edi-x12", "application/json")
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")

Schema = dict[str, Any]


# --- the document -----------------------------------------------------------------------


def _request_nodes(doc: dict[str, Any]) -> Iterator[Schema]:
    """Every schema node a client sends: parameters and request bodies, through the
    components they refer to (each component once)."""
    components = doc.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    stack: list[Any] = []
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            stack += [p.get("schema", {}) for p in operation.get("parameters", [])]
            stack += [
                c.get("schema", {}) for c in operation.get("requestBody", {}).get("content", {}).values()
            ]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack += node
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name not in seen and name in components:
                    seen.add(name)
                    stack.append(components[name])
                continue
            yield node
            stack += [v for k, v in node.items() if k not in ("example", "examples", "default", "enum")]


def bound_openapi(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the storage bounds to every integer and date a client sends (in place)."""
    for node in _request_nodes(doc):
        if node.get("type") == "integer":
            node.setdefault("minimum", INT_MIN)
            node.setdefault("maximum", INT_MAX)
        elif node.get("type") == "string" and node.get("format") in _DATE_FORMATS:
            node.setdefault("formatMinimum", DATE_MIN)
            node.setdefault("formatMaximum", DATE_MAX)
    return doc


# --- the checks -------------------------------------------------------------------------


class _Checker:
    """Walks a value beside its schema and collects the broken rules."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.components = doc.get("components", {}).get("schemas", {})
        self.errors: list[FieldError] = []

    def options(self, schema: Any) -> list[Schema]:
        """The alternatives of a schema, $refs resolved, anyOf/oneOf/allOf flattened."""
        if not isinstance(schema, dict):
            return []
        for _ in range(32):
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                break
            schema = self.components.get(ref.rsplit("/", 1)[-1], {})
        alternatives = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
        if alternatives:
            return [o for alt in alternatives for o in self.options(alt)]
        return [schema]

    def fail(self, where: str, rule: str, message: str) -> None:
        self.errors.append(FieldError(field=where, rule=rule, message=message))

    def text(self, value: str, options: list[Schema], where: str) -> None:
        if "\x00" in value:
            self.fail(where, "no_nul", "Text may not contain a NUL character.")
            return
        dated = [o for o in options if o.get("format") in _DATE_FORMATS]
        day = _DAY.match(value) if dated else None
        if day:
            iso = f"{int(day[1]):04d}-{day[2]}-{day[3]}"
            low, high = dated[0].get("formatMinimum", DATE_MIN), dated[0].get("formatMaximum", DATE_MAX)
            if len(day[1].lstrip("+-")) > 4 or iso > high:
                self.fail(where, "less_than_equal", f"The date must be on or before {high}.")
            elif day[1].startswith("-") or iso < low:
                self.fail(where, "greater_than_equal", f"The date must be on or after {low}.")

    def integer(self, value: int, options: list[Schema], where: str) -> None:
        bounded = [o for o in options if o.get("type") == "integer"]
        if not bounded:
            return
        bounds = bounded[0]
        high, low = bounds.get("maximum", INT_MAX), bounds.get("minimum", INT_MIN)
        if value > high or ("exclusiveMaximum" in bounds and value >= bounds["exclusiveMaximum"]):
            self.fail(where, "less_than_equal", f"Input should be less than or equal to {high}.")
        elif value < low or ("exclusiveMinimum" in bounds and value <= bounds["exclusiveMinimum"]):
            self.fail(where, "greater_than_equal", f"Input should be greater than or equal to {low}.")

    def parameter(self, raw: str, schema: Any, where: str) -> None:
        """A path or query value (always text on the wire)."""
        options = self.options(schema)
        items = [i for o in options if o.get("type") == "array" for i in self.options(o.get("items"))]
        options = options + items
        if _INTEGER.match(raw) and len(raw) < 4300 and any(o.get("type") == "integer" for o in options):
            self.integer(int(raw), options, where)
        else:
            self.text(raw, options, where)

    def json(self, value: Any, schema: Any, where: str, depth: int = 0) -> None:
        options = self.options(schema)
        if isinstance(value, str):
            self.text(value, options, where)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, int) or value.is_integer():  # 3.0 is an integer to pydantic
                self.integer(int(value), options, where)
        elif depth > 64:
            return
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    self.fail(where, "no_nul", "A key may not contain a NUL character.")
                    continue
                subs = [o["properties"][key] for o in options if key in o.get("properties", {})]
                subs += [
                    o["additionalProperties"]
                    for o in options
                    if isinstance(o.get("additionalProperties"), dict)
                ]
                self.json(item, subs[0] if subs else {}, f"{where}.{key}", depth + 1)
        elif isinstance(value, list):
            arrays = [o for o in options if o.get("type") == "array"]
            cap = min((o["maxItems"] for o in arrays if "maxItems" in o), default=None)
            if cap is not None and len(value) > cap:  # refused whole: no item is looked at
                self.fail(where, "too_long", f"At most {cap} items; split the list.")
                return
            items = arrays[0].get("items", {}) if arrays else {}
            for index, item in enumerate(value):
                self.json(item, items, f"{where}.{index}", depth + 1)


# --- the middleware ---------------------------------------------------------------------


class Operations:
    """The operations of an app's OpenAPI document, found by request path and method: a
    request is matched to its operation by the document's path templates (literal segments
    before parameters). Built on first use, when every route is in the document."""

    def __init__(self, document: Callable[[], dict[str, Any]]) -> None:
        self.document = document
        self._index: list[tuple[re.Pattern[str], str, dict[str, Schema]]] | None = None

    def find(self, path: str, method: str) -> tuple[str, dict[str, str], Schema] | None:
        """(path template, path parameters, operation) of a request, or None for no route."""
        if self._index is None:
            index = []
            for template, operations in self.document().get("paths", {}).items():
                pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
                ops = {m.upper(): op for m, op in operations.items()}
                index.append((template.count("{"), -len(template), re.compile(f"^{pattern}$"), template, ops))
            self._index = [entry[2:] for entry in sorted(index, key=lambda e: (e[0], e[1]))]
        for rx, template, ops in self._index:
            match = rx.match(path)
            if match and method in ops:
                return template, match.groupdict(), ops[method]
        return None


class InputGuard:
    """ASGI middleware: refuse, with 422, what the database cannot store (see the module
    docstring). `document` returns the app's (bounded) OpenAPI document."""

    def __init__(self, app: ASGIApp, *, document: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.document = document
        self.operations = Operations(document)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.operations.find(scope["path"], scope["method"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        template, path_params, operation = found
        checker = _Checker(self.document())
        params = {(p["in"], p["name"]): p.get("schema", {}) for p in operation.get("parameters", [])}
        for name, value in path_params.items():
            checker.parameter(value, params.get(("path", name), {}), f"path.{name}")
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            where = "query." + name.replace("\x00", "")
            if "\x00" in name:
                checker.fail(where, "no_nul", "A parameter name may not contain a NUL character.")
            else:
                checker.parameter(value, params.get(("query", name), {}), where)
        body, receive = await _read_body(scope, receive)
        if body:
            _check_body(checker, body, _content_type(scope), operation)
        if checker.errors:
            detail = f"{len(checker.errors)} field(s) broke a rule; see `errors`."
            response = problem_response(
                Request(scope), invalid(*checker.errors, detail=detail), instance=template
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _content_type(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


async def _read_body(scope: Scope, receive: Receive) -> tuple[bytes, Receive]:
    """The whole body of a request with a text or JSON body, and a `receive` that hands the
    route the same bytes again."""
    if scope["method"] not in _BODY_METHODS or not _content_type(scope).startswith(_TEXT_BODIES):
        return b"", receive
    body, replay = await buffer_body(receive)
    return body or b"", replay


async def buffer_body(receive: Receive, limit: int | None = None) -> tuple[bytes | None, Receive]:
    """Read a request body into memory (a middleware must see it before the route does), and
    return a `receive` that hands the route the same bytes again. With `limit`, reading stops
    as soon as the body passes it and None comes back instead: the rest is never read, so an
    oversized upload costs no memory. A client that leaves mid-body leaves what came so far."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client left; the app sees the disconnect as usual
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _check_body(checker: _Checker, body: bytes, content_type: str, operation: Schema) -> None:
    if content_type != "application/json":
        if b"\x00" in body:
            checker.fail("body", "no_nul", "The body may not contain a NUL character.")
        return
    try:
        value = json.loads(body)
    except ValueError:
        return  # FastAPI answers malformed JSON itself
    content = operation.get("requestBody", {}).get("content", {})
    checker.json(value, content.get("application/json", {}).get("schema", {}), "body")
