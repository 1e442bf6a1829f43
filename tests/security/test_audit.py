"""Issue 17, item 6: the audit is complete and tamper-evident.

- Refused calls (401 and 403) are recorded: the actor when the token names one, the route
  (its template, never a path with ids in it), the reason and the outcome, and no patient.
- A bulk read records every patient it returned, so "who saw patient X" finds it.
- Each row's hash chains it to the one before in its service; `python -m shared.audit_chain`
  (`make audit-verify`) names a row the table owner edited behind disabled triggers, and a
  deleted or inserted row.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.claims.helpers import make_claim
from tests.conftest import connect_as, token, unique
from tests.security.helpers import api_only, get_audit_rows, run_audit_verify

ROUTE = "GET /v1/claims"


def correlation() -> dict[str, str]:
    return {"X-Correlation-Id": str(uuid.uuid4())}


async def test_refused_calls_are_audited_with_actor_route_and_reason(settings, admin):
    intruder = unique("intruder")
    no_token, wrong_scope, bad_token = correlation(), correlation(), correlation()
    async with api_only("claims", settings) as (_, client):
        assert (await client.get("/v1/claims", headers=no_token)).status_code == 401
        forbidden = await client.get(
            "/v1/claims", headers={**wrong_scope, **token("payments:read", subject=intruder)}
        )
        assert forbidden.status_code == 403
        forged = {"Authorization": "Bearer not-a-jwt", **bad_token}
        assert (
            await client.get("/v1/claims/00000000-0000-0000-0000-000000000001", headers=forged)
        ).status_code == 401
        seen = (await client.get("/v1/audit", params={"actor": intruder}, headers=token("ops:read"))).json()

    rows = {}
    for headers in (no_token, wrong_scope, bad_token):
        found = await get_audit_rows(admin, "claims", correlation_id=headers["X-Correlation-Id"])
        assert len(found) == 1, found
        rows[headers["X-Correlation-Id"]] = found[0]
    missing = rows[no_token["X-Correlation-Id"]]
    assert (missing["actor"], missing["outcome"], missing["status_code"]) == ("anonymous", "denied", 401)
    assert (missing["route"], missing["resource_type"], missing["action"]) == (ROUTE, "claim", "list")
    assert missing["reason"] == "no bearer token"
    scoped = rows[wrong_scope["X-Correlation-Id"]]
    assert (scoped["actor"], scoped["outcome"], scoped["status_code"]) == (intruder, "denied", 403)
    assert scoped["reason"] == "missing scope claims:read"
    invalid = rows[bad_token["X-Correlation-Id"]]
    assert (invalid["actor"], invalid["status_code"], invalid["reason"]) == (
        "anonymous",
        401,
        "invalid token",
    )
    assert invalid["route"] == "GET /v1/claims/{claim_id}"  # the template: no ids from the path
    for row in rows.values():
        assert row["patient_id"] is None and not row["patient_ids"] and row["resource_id"] is None
    assert [(e["actor"], e["outcome"], e["route"]) for e in seen] == [(intruder, "denied", ROUTE)]


async def test_a_bulk_read_records_every_patient_it_returned(settings, admin):
    patients = [unique("bulk-pat") for _ in range(132)]
    bodies = [make_claim(patients[i % len(patients)]) for i in range(200)]
    listing = correlation()
    async with api_only("claims", settings) as (_, client):
        for start in range(0, len(bodies), 20):
            answers = await asyncio.gather(
                *(
                    client.post("/v1/claims", json=b, headers=token("claims:write"))
                    for b in bodies[start : start + 20]
                )
            )
            assert all(a.status_code == 201 for a in answers), answers[0].text
        page = await client.get(
            "/v1/claims", params={"limit": 200}, headers={**listing, **token("claims:read")}
        )
        assert page.status_code == 200
        returned = {item["patient_id"] for item in page.json()["items"]}
        assert set(patients) <= returned  # the newest 200 claims are this test's
        who_saw = (
            await client.get("/v1/audit", params={"patient_id": patients[77]}, headers=token("ops:read"))
        ).json()

    rows = await get_audit_rows(admin, "claims", correlation_id=listing["X-Correlation-Id"])
    recorded = {patient for row in rows for patient in row["patient_ids"] or ()}
    assert recorded == returned, f"{len(returned - recorded)} of {len(returned)} patients not in the audit"
    assert ("list", "claim") in {(e["action"], e["resource_type"]) for e in who_saw}
    async with admin.transaction():  # "who saw patient X" is one indexed predicate
        await admin.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in await admin.fetch(
                "EXPLAIN SELECT id FROM claims.audit_log WHERE patient_ids @> ARRAY[$1::text]", patients[0]
            )
        )
    assert "audit_log_patient_ids" in plan, plan


async def test_chain_verification_names_a_row_the_owner_edited_behind_disabled_triggers(
    settings, admin, servers
):
    reader = unique("chain-reader")
    async with api_only("claims", settings) as (_, client):
        claim = (await client.post("/v1/claims", json=make_claim(), headers=token("claims:write"))).json()
        for _ in range(3):
            await client.get(f"/v1/claims/{claim['id']}", headers=token("claims:read", subject=reader))

    code, out = await run_audit_verify(servers.database_url, "claims")
    assert code == 0, out
    target = (await get_audit_rows(admin, "claims", actor=reader))[1]
    await _as_owner_without_triggers(
        admin, "UPDATE claims.audit_log SET actor = 'nobody' WHERE id = $1", target["id"]
    )
    try:
        code, out = await run_audit_verify(servers.database_url, "claims")
        assert code == 1, out
        assert f"id={target['id']} " in out and "edited" in out, out
        async with api_only("claims", settings) as (_, client):
            report = (await client.get("/v1/ops/audit-chain", headers=token("ops:read"))).json()
        assert report["ok"] is False
        assert [(b["id"], b["kind"]) for b in report["breaks"]] == [(target["id"], "edited")]
    finally:  # put it back: the chain is whole again, for the tests after this one
        await _as_owner_without_triggers(
            admin, "UPDATE claims.audit_log SET actor = $2 WHERE id = $1", target["id"], reader
        )
    code, out = await run_audit_verify(servers.database_url, "claims")
    assert code == 0, out


async def test_chain_verification_names_deleted_and_inserted_rows(admin):
    from shared.audit_chain import verify
    from tests.security.helpers import scratch_audit_schema

    async with scratch_audit_schema(admin) as schema:
        for n in range(5):
            await admin.execute(
                f"INSERT INTO {schema}.audit_log (actor, action, resource_type, outcome) "
                "VALUES ($1, 'read', 'probe', 'success')",
                f"user-{n}",
            )
        assert (await verify(admin, schema)).ok
        ids = [r["id"] for r in await admin.fetch(f"SELECT id FROM {schema}.audit_log ORDER BY seq")]
        await _as_owner_without_triggers(admin, f"DELETE FROM {schema}.audit_log WHERE id = $1", ids[2])
        await _as_owner_without_triggers(
            admin,
            f"INSERT INTO {schema}.audit_log (actor, action, resource_type, outcome) "
            "VALUES ('forger', 'read', 'probe', 'success')",
        )
        report = await verify(admin, schema)
    kinds = {(b.kind, b.id) for b in report.breaks}
    assert ("deleted", ids[3]) in kinds, report  # named by the row after the gap
    assert any(kind == "inserted" for kind, _ in kinds), report
    assert not report.ok


async def test_the_service_role_cannot_edit_the_audit_or_switch_its_triggers_off(settings):
    conn = await connect_as("claims", settings)
    try:
        for statement in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
        ):
            with pytest.raises(asyncpg.PostgresError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def _as_owner_without_triggers(admin: asyncpg.Connection, statement: str, *args: object) -> None:
    """What a table owner can do: switch the triggers off, change the table, switch them on."""
    table = _table_of(statement)
    async with admin.transaction():
        await admin.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        await admin.execute(statement, *args)
        await admin.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def _table_of(statement: str) -> str:
    return next(word for word in statement.split() if word.endswith(".audit_log"))


async def test_audit_verify_names_a_deleted_row_and_a_row_edited_without_any_ddl(settings, admin, servers):
    """`make audit-verify` (python -m shared.audit_chain) on a service's own log: a row deleted
    behind disabled triggers leaves a gap; a row edited under session_replication_role=replica
    (a superuser switches every trigger off for the session, with no ALTER TABLE to see) no
    longer matches its hash. Both rows are put back afterwards, and the chain is whole again."""
    reader = unique("verify-reader")
    async with api_only("claims", settings) as (_, client):
        claim = (await client.post("/v1/claims", json=make_claim(), headers=token("claims:write"))).json()
        for _ in range(4):
            await client.get(f"/v1/claims/{claim['id']}", headers=token("claims:read", subject=reader))
    rows = await get_audit_rows(admin, "claims", actor=reader)
    edited, deleted = rows[1], rows[2]
    async with admin.transaction():
        await admin.execute("SET LOCAL session_replication_role = replica")
        await admin.execute("UPDATE claims.audit_log SET outcome = 'denied' WHERE id = $1", edited["id"])
    await _as_owner_without_triggers(admin, "DELETE FROM claims.audit_log WHERE id = $1", deleted["id"])
    try:
        code, out = await run_audit_verify(servers.database_url, "claims")
        assert code == 1, out
        assert f"edited: claims.audit_log id={edited['id']} " in out, out
        after = rows[3]  # the gap is named at the row after it
        assert f"deleted: claims.audit_log id={after['id']} seq={after['seq']}" in out, out
    finally:
        columns = list(deleted)
        values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        await _as_owner_without_triggers(
            admin,
            f"INSERT INTO claims.audit_log ({', '.join(columns)}) VALUES ({values})",
            *deleted.values(),
        )
        await _as_owner_without_triggers(
            admin, "UPDATE claims.audit_log SET outcome = $2 WHERE id = $1", edited["id"], edited["outcome"]
        )
    code, out = await run_audit_verify(servers.database_url, "claims")
    assert code == 0, out


def test_make_audit_verify_runs_the_verifier_over_every_service_by_default():
    """docs/runbook-audit.md says `make audit-verify` checks every service's chain. The target
    must not inherit another target's default arguments (`make dlq`'s ARGS=list once made it
    fail with 'unknown service(s): list'); `AUDIT_ARGS` names services when wanted."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    def command(*extra: str) -> str:
        shown = subprocess.run(
            ["make", "-n", "--no-print-directory", "audit-verify", *extra],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return next(line for line in shown.splitlines() if "shared.audit_chain" in line)

    assert command().rstrip().endswith("-m shared.audit_chain"), command()
    assert command("AUDIT_ARGS=claims payments").rstrip().endswith("-m shared.audit_chain claims payments")
