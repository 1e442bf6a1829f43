"""Issue 17 must-show "Input": a NUL byte in any string and an integer or date beyond what
the storage takes get 422 problem+json naming the field, on every route that takes them.

The cases are generated from each service's own OpenAPI document (every service under
services/), so a new route or a new service is covered without editing this test: for each
operation, each path and query parameter and each JSON body field (nested objects and array
items too) of type string, integer, date or date-time, and each text body. Each is sent, with
a token holding every scope, through the service's real app and its real PostgreSQL and Kafka.
"""

from __future__ import annotations

import importlib
import json
import re

import pytest

from tests.conftest import token, unique
from tests.security.helpers import input_cases, request_schemas, service_names

PROBLEM_JSON = "application/problem+json"


def _echoes(problem: dict, value: str) -> bool:
    """Whether the problem document quotes the value (as a whole token: a rejected 0 is not
    echoed by "status": 422), or any NUL. The correlation id is random and left out."""
    text = json.dumps({k: v for k, v in problem.items() if k != "correlation_id"})
    return "\\u0000" in text or re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w.-])", text) is not None


def _what_went_wrong(case, resp) -> str | None:
    if resp.status_code != 422:
        return f"{case.label()}: {resp.status_code}"
    if resp.headers.get("content-type") != PROBLEM_JSON:
        return f"{case.label()}: content-type {resp.headers.get('content-type')}"
    fields = [e.get("field") for e in resp.json().get("errors") or []]
    if case.field not in fields:
        return f"{case.label()}: errors name {fields}, not {case.field}"
    if _echoes(resp.json(), case.echo):
        return f"{case.label()}: the value is echoed"
    return None


@pytest.mark.parametrize("name", service_names())
async def test_nul_bytes_and_overflowing_numbers_and_dates_get_422_naming_the_field(service, name):
    async with service(name) as (app, client):
        cases = input_cases(app.openapi())
        assert cases, f"{name}: no input cases generated from its OpenAPI document"
        headers = {**token(), "Idempotency-Key": unique("input")}
        failures = []
        for case in cases:
            extra = {"Content-Type": case.content_type} if case.content_type else {}
            try:
                resp = await client.request(
                    case.method,
                    case.path,
                    params=case.params,
                    json=case.json,
                    content=case.content,
                    headers={**headers, **extra},
                )
            except Exception as exc:  # the app let it escape: what a server answers with 500
                failures.append(f"{case.label()}: 500 ({type(exc).__name__})")
                continue
            problem = _what_went_wrong(case, resp)
            if problem:
                failures.append(problem)
        assert failures == [], f"{name}: {len(failures)} of {len(cases)} cases:\n" + "\n".join(failures[:40])


def test_the_openapi_documents_show_the_bounds():
    """Every integer and date a client sends (parameters and request bodies) has a minimum and
    a maximum in the documents clients read."""
    missing = []
    for name in service_names():
        doc = importlib.import_module(f"services.{name}.main").app.openapi()
        for where, schema in request_schemas(doc):
            if schema.get("type") == "integer" and ("maximum" not in schema or "minimum" not in schema):
                missing.append(f"{name} {where}")
            if schema.get("format") in ("date", "date-time") and (
                "formatMaximum" not in schema or "formatMinimum" not in schema
            ):
                missing.append(f"{name} {where}")
    assert missing == [], f"{len(missing)} unbounded integers or dates:\n" + "\n".join(missing[:40])
