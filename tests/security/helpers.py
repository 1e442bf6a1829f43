"""Helpers of the security tests: every service found in services/, the bad-input cases
generated from a service's OpenAPI document (NUL bytes in strings, integers and dates beyond
what the storage takes), an API-only service in process, audit rows read as the admin, and the
audit chain's verify command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

from shared.app import create_app
from shared.config import Settings
from tests.conftest import service_definition

ROOT = Path(__file__).resolve().parents[2]

# A string with a NUL byte in it; "zq" marks it so a test can see whether it was echoed.
NUL_TEXT = "zq\x00zq"
NUL_MARK = "zq"
# Beyond any bound a schema may leave open: past int4, past a date's sane range.
UNBOUNDED_INT = 10**12
DATE_VALUES = ("9999-12-31", "0001-01-01")
DATETIME_VALUES = ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z")
TEXT_BODIES = ("text/plain", "text/csv", "application/edi-x12")


def service_names() -> list[str]:
    """Every service under services/ (a package with a service.py), so a new one is covered
    without editing the tests."""
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/service.py"))


@dataclass
class Case:
    """One request that must get 422 naming `field` without echoing `echo`."""

    method: str
    path: str  # with path parameters filled in
    field: str  # e.g. query.actor, path.claim_id, body.subscriber.first_name
    echo: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None

    def label(self) -> str:
        return f"{self.method} {self.path.split('?')[0]} {self.field} ({self.echo!r})"


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _options(doc: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a schema (anyOf/oneOf/allOf flattened)."""
    schema = _resolve(doc, schema)
    alternatives = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if alternatives:
        return [o for alt in alternatives for o in _options(doc, alt)]
    return [] if schema.get("type") == "null" else [schema]


def bad_values(doc: dict[str, Any], schema: dict[str, Any]) -> list[tuple[Any, str]]:
    """(value, what must not be echoed) for a leaf schema: NUL for text, one past the bounds
    for integers (or far past when unbounded), far-off dates."""
    values: list[tuple[Any, str]] = []
    for option in _options(doc, schema):
        kind, fmt = option.get("type"), option.get("format")
        if kind == "array":
            values += bad_values(doc, option.get("items", {}))
        elif kind == "integer":
            high = int(option.get("exclusiveMaximum", option.get("maximum", UNBOUNDED_INT - 1) + 1))
            low = int(option.get("exclusiveMinimum", option.get("minimum", -UNBOUNDED_INT + 1) - 1))
            values += [(high, str(high)), (low, str(low))]
        elif kind == "string" and fmt == "date":
            values += [(v, v) for v in DATE_VALUES]
        elif kind == "string" and fmt == "date-time":
            values += [(v, v) for v in DATETIME_VALUES]
        elif kind == "string" and fmt != "binary":
            values.append((NUL_TEXT, NUL_MARK))
    unique: dict[str, tuple[Any, str]] = {}
    for value, echo in values:
        unique.setdefault(repr(value), (value, echo))
    return list(unique.values())


def _filler(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    """A harmless value for a path parameter that is not the one under test."""
    options = _options(doc, schema) or [{}]
    option = options[0]
    if option.get("enum"):
        return str(option["enum"][0])
    if option.get("type") == "integer":
        return "1"
    if option.get("format") == "uuid":
        return str(uuid.uuid4())
    if option.get("format") == "date":
        return "2026-01-01"
    return "x1"


def body_leaves(
    doc: dict[str, Any], schema: dict[str, Any], depth: int = 0
) -> Iterator[tuple[list[str | int], dict[str, Any]]]:
    """(path, leaf schema) of every field of a JSON body, nested objects and array items
    included; the path of an array item is its index 0."""
    if depth > 6:
        return
    for option in _options(doc, schema):
        if option.get("type") == "object" or "properties" in option:
            for name, sub in option.get("properties", {}).items():
                inner = _options(doc, sub)
                if any(
                    o.get("type") == "object" or "properties" in o or o.get("type") == "array" for o in inner
                ):
                    for path, leaf in body_leaves(doc, sub, depth + 1):
                        yield [name, *path], leaf
                if any(o.get("type") not in ("object", "array") and "properties" not in o for o in inner):
                    yield [name], sub
        elif option.get("type") == "array":
            for path, leaf in body_leaves(doc, option.get("items", {}), depth + 1):
                yield [0, *path], leaf


def _nest(path: list[str | int], value: Any) -> Any:
    for part in reversed(path):
        value = [value] if isinstance(part, int) else {part: value}
    return value


def input_cases(doc: dict[str, Any]) -> list[Case]:
    """Every NUL/overflow case of every operation of an OpenAPI document: query and path
    parameters, JSON body fields, and text bodies. Header parameters are left out: HTTP
    itself refuses NUL in a header before any service sees it."""
    cases: list[Case] = []
    for template, operations in doc["paths"].items():
        for method, operation in operations.items():
            params = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
            path_params = {p["name"]: _filler(doc, p.get("schema", {})) for p in params if p["in"] == "path"}

            def url(overrides: dict[str, str], template: str = template) -> str:
                filled = {**path_params, **overrides}
                return template.format(**{k: quote(str(v), safe="") for k, v in filled.items()})

            for param in params:
                for value, echo in bad_values(doc, param.get("schema", {})):
                    where = f"{param['in']}.{param['name']}"
                    if param["in"] == "path":
                        cases.append(Case(method.upper(), url({param["name"]: value}), where, echo))
                    else:
                        cases.append(
                            Case(method.upper(), url({}), where, echo, params={param["name"]: value})
                        )
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = content["application/json"].get("schema", {})
                for path, leaf in body_leaves(doc, schema):
                    for value, echo in bad_values(doc, leaf):
                        where = ".".join(["body", *map(str, path)])
                        cases.append(Case(method.upper(), url({}), where, echo, json=_nest(path, value)))
            for content_type in TEXT_BODIES:
                if content_type in content:
                    body = f"ISA*{NUL_TEXT}*~".encode()
                    cases.append(
                        Case(
                            method.upper(), url({}), "body", NUL_MARK, content=body, content_type=content_type
                        )
                    )
    return cases


def request_schemas(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, schema) of every schema node a client sends: parameters and request bodies,
    through $refs into the components they use."""
    seen: set[str] = set()

    def walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    yield from walk(doc["components"]["schemas"][name], f"components/{name}")
                return
            yield where, node
            for key, value in node.items():
                yield from walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{where}/{i}")

    for template, operations in doc["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                yield from walk(param.get("schema", {}), f"{method} {template} {param['name']}")
            for content in operation.get("requestBody", {}).get("content", {}).values():
                yield from walk(content.get("schema", {}), f"{method} {template} body")


@contextlib.asynccontextmanager
async def api_only(name: str, settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The service's app with its real pool (settings.db_pool_size) and its lifespan, without
    consumers and workers (the shared broker holds other runs' events); (app, client)."""
    definition = replace(service_definition(name), handlers={}, workers=[])
    app = create_app(definition, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}", timeout=120) as client:
            yield app, client


async def get_audit_rows(admin: asyncpg.Connection, schema: str, **equal: Any) -> list[dict[str, Any]]:
    """The schema's audit rows whose columns equal the given values, oldest first."""
    where = " AND ".join(f"{column} = ${i}" for i, column in enumerate(equal, start=1)) or "true"
    rows = await admin.fetch(f"SELECT * FROM {schema}.audit_log WHERE {where} ORDER BY id", *equal.values())
    return [dict(row) for row in rows]


async def run_audit_verify(database_url: str, *services: str) -> tuple[int, str]:
    """`python -m shared.audit_chain [service ...]` against the test database: (exit code, output)."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.audit_chain",
        *services,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


@contextlib.asynccontextmanager
async def scratch_audit_schema(admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A throwaway schema with the backbone tables and the audit chain, for tampering with."""
    from shared.audit_chain import AUDIT_CHAIN_DDL
    from shared.tables import BACKBONE_DDL

    schema = f"scratch_audit_{os.urandom(5).hex()}"
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        await admin.execute(f"SET search_path TO {schema}")
        for statement in (*BACKBONE_DDL, *AUDIT_CHAIN_DDL):
            await admin.execute(statement)
        await admin.execute("RESET search_path")
        yield schema
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def uvicorn_service(name: str, env: dict[str, str], log: Path, port: int | None = None) -> Iterator[str]:
    """The service as `make up` runs it: its own `python -m uvicorn` process (output in `log`,
    on `port` when the caller must know it beforehand), its base URL once /health/live
    answers; stopped on exit."""
    port = port or free_port()
    argv = [sys.executable, "-m", "uvicorn", f"services.{name}.main:app", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*argv, "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                    break
            assert proc.poll() is None, f"{name} exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"{name} did not start:\n{log.read_text()[-3000:]}"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
