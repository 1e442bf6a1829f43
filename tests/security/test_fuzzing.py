"""Issue 17 must-show "Fuzzing", and item 3 (no patient data in logs).

Every service under services/ runs as `make up` runs it: its own `python -m uvicorn` process on
the session's PostgreSQL and Kafka, its stdout and stderr kept in a file. Then
  1. requests that carry known patient data (names, a birth date, a member id) next to a
     value the database cannot store (a NUL byte), and the issue's NUL/overflow queries;
  2. a bounded schemathesis run over each service's OpenAPI document: 0 5xx responses and 0
     status codes the document does not list;
  3. the logs of all of it are scanned: none of the patient data the test used is in them,
     and no SQL parameters either.
The tests share the servers and run in this order (the scan is last).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.claims.helpers import make_claim
from tests.conftest import kafka_env, token, unique
from tests.eligibility.helpers import make_check_body
from tests.security.helpers import free_port, service_names, uvicorn_service

# The patient data the probes carry; the log scan looks for exactly these.
PHI = {
    "first_name": "Zebulonia",
    "last_name": "Phiscanson",
    "birth_date": "1931-02-03",
    "member_id": "PHISCAN778899",
}
# Bounded: 5 examples per operation of the example and fuzzing phases take 1-3 minutes for
# all services on two cores. The coverage phase (boundary values of every field) adds minutes
# (claims alone ~3.5 min), so CI leaves it out; FUZZ_PHASES=examples,coverage,fuzzing runs it.
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "5")
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing")


@pytest.fixture(scope="module")
def platform(servers, settings, tmp_path_factory) -> Iterator[dict[str, tuple[str, Path]]]:
    """{service: (base url, log file)}: each service in its own uvicorn process."""
    logs = tmp_path_factory.mktemp("service-logs")
    env = {
        "DATABASE_URL": servers.database_url,
        **kafka_env(settings),
        "CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix + "fuzz-",
        "LOG_LEVEL": "INFO",
    }
    ports = {name: free_port() for name in service_names()}
    # The ops console reads the others: point it at these processes, not at a `make up` platform.
    env |= {f"OPS_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    running: dict[str, tuple[str, Path]] = {}
    with contextlib.ExitStack() as services:
        for name, port in ports.items():
            log = logs / f"{name}.log"
            running[name] = (services.enter_context(uvicorn_service(name, env, log, port)), log)
        yield running


def _probes() -> list[tuple[str, str, str, dict]]:
    """(service, method, path, request kwargs): patient data beside a NUL byte or an overflow."""
    check = make_check_body(PHI["member_id"])
    check["patient"] = {
        **check["patient"],
        "first_name": PHI["first_name"] + "\x00",
        "last_name": PHI["last_name"],
    }
    check["patient"]["birth_date"] = PHI["birth_date"]
    claim = make_claim()
    claim["subscriber"] = {
        **claim["subscriber"],
        "first_name": "A\x00" + PHI["first_name"],
        "last_name": PHI["last_name"],
        "birth_date": PHI["birth_date"],
        "member_id": PHI["member_id"],
    }
    payment = {"account_id": PHI["member_id"], "amount": "10.00", "method": "check", "reference": "1\x00"}
    probes = [
        ("eligibility", "POST", "/v1/eligibility/checks", {"json": check}),
        ("claims", "POST", "/v1/claims", {"json": claim}),
        ("payments", "POST", "/v1/payments", {"json": payment}),
        (
            "claims",
            "GET",
            "/v1/claims",
            {"params": {"max_age_days": 1000000, "patient_id": PHI["member_id"]}},
        ),
    ]
    for name in service_names():
        probes.append(
            (name, "GET", "/v1/audit", {"params": {"actor": "\x00", "patient_id": PHI["last_name"]}})
        )
    return probes


def test_patient_data_beside_bad_input_gets_422(platform):
    failures = []
    for name, method, path, kwargs in _probes():
        url, _ = platform[name]
        if path not in httpx.get(f"{url}/openapi.json", timeout=30).json()["paths"]:
            continue  # a service without that route (the ops console has no audit of its own)
        headers = {**token(), "Idempotency-Key": unique("phi")}
        resp = httpx.request(method, url + path, headers=headers, timeout=30, **kwargs)
        if resp.status_code != 422:
            failures.append(f"{name} {method} {path}: {resp.status_code}")
    assert failures == []


@contextlib.contextmanager
def money_limits_kept(name: str, url: str) -> Iterator[None]:
    """The run's token may change the practice's money limits (PUT /v1/money-limits takes
    payments:admin) to whatever schemathesis makes up: put them back afterwards, so the tests
    that run after it (in the same database) meet the limits they expect."""
    if name != "payments":
        yield
        return
    limits = f"{url}/v1/money-limits"
    before = httpx.get(limits, headers=token(), timeout=30).json()
    try:
        yield
    finally:
        fields = ("patient_payment", "insurer_payment", "refund", "write_off", "approval_threshold")
        back = httpx.put(limits, json={k: before[k] for k in fields}, headers=token(), timeout=30)
        assert back.status_code == 200, back.text


@pytest.mark.parametrize("name", service_names())
def test_bounded_schemathesis_run_gives_no_5xx_and_no_undocumented_status(platform, name, tmp_path):
    url, _ = platform[name]
    bearer = token()["Authorization"]
    argv = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "not_a_server_error,status_code_conformance",
        "--max-examples",
        MAX_EXAMPLES,
        "--phases",
        PHASES,
        "--workers",
        "1",
        "--seed",
        "17",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--exclude-path-regex",
        "^/(metrics|health)",
        "-H",
        f"Authorization: {bearer}",
        "-H",
        f"Idempotency-Key: {unique('fuzz')}",
        "--no-color",
    ]
    with money_limits_kept(name, url):
        run = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, f"schemathesis on {name}:\n{run.stdout[-12000:]}\n{run.stderr[-2000:]}"


def test_the_logs_afterwards_hold_no_patient_data(platform):
    found = []
    for name, (_, log) in platform.items():
        text = log.read_text(errors="replace")
        assert "request" in text, f"{name} logged nothing; the scan would prove nothing"
        for what, value in PHI.items():
            if value in text:
                line = next(line for line in text.splitlines() if value in line)
                found.append(f"{name}: {what} in {line[:300]}")
        if "[parameters:" in text:
            found.append(f"{name}: SQL parameters logged")
    assert found == []
