"""Date and time query parameters, in every service: a plain date is always accepted.

A billing specialist types `?as_of=2027-01-10`, not an ISO instant with an offset. A
datetime parameter reads a plain date as a moment of that day in UTC (the start of it for
where a range begins, the end of it for "as of"), and a naive datetime as UTC, so the
service never compares naive with aware datetimes (which was a 500)."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter

SERVICES = ("eligibility", "claims", "payments", "notifications", "gateway", "frontoffice")


def _query_params_with_dates() -> list[tuple[str, str, str, str, dict]]:
    found = []
    for name in SERVICES:
        app = importlib.import_module(f"services.{name}.main").app
        for path, operations in app.openapi()["paths"].items():
            for method, operation in operations.items():
                for param in operation.get("parameters", []):
                    schema = json.dumps(param.get("schema", {}))
                    if param.get("in") == "query" and '"format": "date' in schema:
                        found.append((name, method.upper(), path, param["name"], param["schema"]))
    return found


def test_every_date_or_datetime_query_parameter_accepts_a_plain_date():
    params = _query_params_with_dates()
    assert any(p[2] == "/v1/followups" and p[3] == "as_of" for p in params)
    refusing = [
        f"{service} {method} {path} ?{name}"
        for service, method, path, name, schema in params
        if '"format": "date"' not in json.dumps(schema)
    ]
    assert refusing == [], "these datetime query parameters refuse a plain date (use shared.paging.Moment)"


@pytest.mark.parametrize(
    ("text", "start", "as_of"),
    [
        (
            "2027-01-10",
            datetime(2027, 1, 10, tzinfo=UTC),
            datetime(2027, 1, 10, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        (
            "2027-01-10T08:30:00",
            datetime(2027, 1, 10, 8, 30, tzinfo=UTC),
            datetime(2027, 1, 10, 8, 30, tzinfo=UTC),
        ),
        (
            "2027-01-10T08:30:00-05:00",
            datetime(2027, 1, 10, 13, 30, tzinfo=UTC),
            datetime(2027, 1, 10, 13, 30, tzinfo=UTC),
        ),
    ],
)
def test_a_plain_date_is_a_moment_of_that_day_in_utc_and_a_naive_time_is_utc(text, start, as_of):
    from shared.paging import AsOfMoment, Moment

    got_start = TypeAdapter(Moment).validate_python(text)
    got_as_of = TypeAdapter(AsOfMoment).validate_python(text)
    assert got_start == start and got_start.tzinfo is not None
    assert got_as_of == as_of and got_as_of.tzinfo is not None


def test_something_that_is_no_date_is_still_refused():
    from shared.paging import Moment

    with pytest.raises(ValueError):
        TypeAdapter(Moment).validate_python("tomorrow")


LISTS_WITH_DATES = ("frontoffice",)


def test_every_list_takes_date_from_and_date_to():
    """Every list (a GET answering a cursor page) filters by `date_from`/`date_to`
    (shared.paging.Dates): one date-range style across the platform. (Checked for the services
    whose lists all have it; the others still have lists without it.)"""
    lacking = []
    for name in LISTS_WITH_DATES:
        app = importlib.import_module(f"services.{name}.main").app
        spec = app.openapi()
        for path, operations in spec["paths"].items():
            get = operations.get("get")
            if get is None:
                continue
            schema = get.get("responses", {}).get("200", {}).get("content", {})
            ref = json.dumps(schema.get("application/json", {}).get("schema", {}))
            if "CursorPage" not in ref:
                continue
            params = {p["name"] for p in get.get("parameters", []) if p.get("in") == "query"}
            if not {"date_from", "date_to"} <= params:
                lacking.append(f"{name} GET {path}")
    assert lacking == [], "these lists lack date_from/date_to (use shared.paging.Dates)"
