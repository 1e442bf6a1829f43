"""Authentication, scopes, audit and problem+json through the real HTTP interface."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest

from shared.config import SERVICE_NAMES
from shared.issuer import DEV_ISSUER, DevIssuer
from tests.conftest import connect_as, token, unique


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_v1_needs_a_token_and_health_stays_open(service, name):
    async with service(name) as (_, client):
        resp = await client.get("/v1/audit")
        assert resp.status_code == 401
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.headers["www-authenticate"].startswith("Bearer")
        problem = resp.json()
        assert problem["status"] == 401 and problem["type"].endswith("/unauthenticated")

        ok = await client.get("/v1/audit", headers=token("ops:read"))
        assert ok.status_code == 200 and isinstance(ok.json(), list)

        for path in ("/health/live", "/metrics", "/asyncapi", "/openapi.json"):
            assert (await client.get(path)).status_code == 200, path


async def test_wrong_scope_is_403_and_bad_tokens_are_401(service, settings):
    async with service("payments") as (_, client):
        wrong = await client.get("/v1/accounts/A1/ledger", headers=token("claims:read"))
        assert wrong.status_code == 403
        assert "payments:read" in wrong.json()["detail"]
        assert 'error="insufficient_scope"' in wrong.headers["www-authenticate"]

        # Signed by the development issuer the service trusts, but an hour past its exp.
        expired = DevIssuer(settings.dev_issuer_dir).sign(
            {
                "sub": "x",
                "exp": int(time.time()) - 3600,
                "iss": DEV_ISSUER,
                "aud": settings.jwt_audience,
                "scope": "payments:read",
            }
        )
        forged = jwt.encode(
            {
                "sub": "x",
                "exp": int(time.time()) + 3600,
                "iss": DEV_ISSUER,
                "aud": settings.jwt_audience,
                "scope": "payments:read",
            },
            "not-the-secret-but-long-enough-0123456789",
            algorithm="HS256",
        )
        for bad in (expired, forged, "not-a-jwt"):
            resp = await client.get("/v1/accounts/A1/ledger", headers={"Authorization": f"Bearer {bad}"})
            assert resp.status_code == 401
            assert resp.headers["content-type"] == "application/problem+json"


async def test_validation_errors_name_field_and_rule_without_echoing_input(service):
    secret_value = "Jane-Doe-1970-01-01"
    async with service("payments") as (_, client):
        resp = await client.post(
            "/v1/accounts/A1/payments",
            json={"amount": "12.345", "method": secret_value},
            headers={**token("payments:write"), "Idempotency-Key": unique("k")},
        )
        assert resp.status_code == 422
        assert resp.headers["content-type"] == "application/problem+json"
        errors = {(e["field"], e["rule"]) for e in resp.json()["errors"]}
        assert ("body.amount", "money_decimals") in errors  # shared.money's rule
        assert ("body.method", "literal_error") in errors
        assert secret_value not in resp.text

        malformed = await client.post(
            "/v1/accounts/A1/payments",
            content=b'{"amount": ',
            headers={
                **token("payments:write"),
                "Idempotency-Key": unique("k"),
                "Content-Type": "application/json",
            },
        )
        assert malformed.status_code == 400
        assert malformed.json()["type"].endswith("/malformed-json")

        missing = await client.get("/v1/nothing-here", headers=token())
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


async def test_reads_and_changes_are_audited_and_the_audit_is_append_only(service, settings):
    account = unique("acct")
    async with service("payments") as (_, client):
        await client.post(  # payments takes money for accounts it knows: a charge opens this one
            f"/v1/accounts/{account}/charges",
            json={"amount": "5.00", "description": "Visit"},
            headers={**token("payments:write", subject="clerk-6"), "Idempotency-Key": unique("k")},
        )
        await client.post(
            f"/v1/accounts/{account}/payments",
            json={"amount": "5.00", "method": "check"},
            headers={**token("payments:write", subject="clerk-7"), "Idempotency-Key": unique("k")},
        )
        await client.get(f"/v1/accounts/{account}/ledger", headers=token("payments:read", subject="clerk-8"))
        await client.get(f"/v1/accounts/{account}/ledger", headers=token("claims:read", subject="clerk-9"))
        trail = (
            await client.get("/v1/audit", params={"patient_id": account}, headers=token("ops:read"))
        ).json()

    seen = {(e["actor"], e["action"], e["resource_type"], e["outcome"]) for e in trail}
    assert ("clerk-7", "create", "patient_payment", "success") in seen
    assert ("clerk-8", "read", "account_ledger", "success") in seen
    # A refused token never reaches the route, so no patient record was read: nothing to audit.
    assert not any(e["actor"] == "clerk-9" for e in trail)

    conn = await connect_as("payments", settings)
    try:
        for statement in (
            "UPDATE audit_log SET actor = 'someone-else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "UPDATE ledger_entries SET amount = 0",
        ):
            with pytest.raises(Exception) as excinfo:
                await conn.execute(statement)
            assert "permission denied" in str(excinfo.value) or "append-only" in str(excinfo.value)
        count = await conn.fetchval("SELECT count(*) FROM audit_log WHERE patient_id = $1", account)
        assert count >= 2
    finally:
        await conn.close()


async def test_trigger_keeps_audit_append_only_even_for_the_admin(admin):
    row_id = await admin.fetchval(
        "INSERT INTO payments.audit_log (actor, action, resource_type, outcome) "
        "VALUES ('test', 'read', 'probe', 'success') RETURNING id"
    )
    with pytest.raises(Exception, match="append-only"):
        await admin.execute("UPDATE payments.audit_log SET actor = 'x' WHERE id = $1", row_id)
    with pytest.raises(Exception, match="append-only"):
        await admin.execute("DELETE FROM payments.audit_log WHERE id = $1", row_id)


async def test_logs_are_json_with_correlation_id_and_no_phi(settings, capsys):
    from shared.app import create_app
    from tests.conftest import service_definition

    member_name = "Jane-Q-Public"
    app = create_app(service_definition("payments"), settings.model_copy(update={"log_level": "INFO"}))
    async with app.router.lifespan_context(app):
        capsys.readouterr()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://payments") as client:
            resp = await client.post(
                f"/v1/accounts/{member_name}/payments",
                json={"amount": "1.00", "method": member_name},
                headers={
                    **token("payments:write"),
                    "Idempotency-Key": unique("k"),
                    "X-Correlation-Id": "corr-log-1",
                },
            )
        assert resp.status_code == 422
        out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("message") == "request"]
    assert request_lines and request_lines[-1]["correlation_id"] == "corr-log-1"
    assert request_lines[-1]["route"] == "/v1/accounts/{account_id}/payments"
    assert member_name not in out
