"""Batches of checks: accepted at once, run in the background, surviving a restart."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from tests.conftest import eventually, unique
from tests.eligibility.helpers import (
    MEMBERS,
    READ,
    SCENARIOS,
    WRITE,
    make_check_body,
    post_batch,
)


async def test_batch_of_500_shows_progress_and_survives_a_restart_halfway(eligibility, sandbox, admin):
    # Members the sandbox answers like SBX10001 (pattern SBXG + 6 digits), unique per run so
    # no answer comes from the cache: every check is a real payer call.
    base = random.randrange(0, 999_000)
    members = [f"SBXG{base + i:06d}" for i in range(500)]
    like = MEMBERS[next(p["like"] for p in SCENARIOS["patterns"] if p["pattern"].startswith("^SBXG"))]
    patients = [unique("bpat") for _ in members]
    body = {"checks": [make_check_body(m, patient_id=p) for m, p in zip(members, patients, strict=True)]}
    # 100 checks/s for this payer: the batch takes a few seconds, long enough to stop it halfway.
    knobs = {"rate_limit_per_second": 100, "rate_limit_burst": 10}
    progress: list[tuple[int, int, int]] = []

    async def snapshot(client) -> dict[str, Any]:
        batch = (await client.get(location + "?results=false", headers=READ)).json()
        progress.append((batch["done"], batch["failed"], batch["pending"]))
        return batch

    async with eligibility(**knobs) as (_, client):
        started = time.perf_counter()
        created = await post_batch(client, body["checks"])
        accepted_in = time.perf_counter() - started
        assert created.status_code == 202 and created.json()["pending"] == 500
        location = created.headers["Location"]
        await eventually(lambda: _at_least(snapshot, client, 150), timeout=60, interval=0.2)
    # The first service instance is gone, mid-batch. Nothing is lost, nothing is held.
    batch_id = uuid.UUID(location.rsplit("/", 1)[1])
    states = dict(
        await admin.fetch(
            "SELECT state, count(*) FROM eligibility.checks WHERE batch_id = $1 GROUP BY state", batch_id
        )
    )
    held = await admin.fetchval(
        "SELECT count(*) FROM eligibility.checks "
        "WHERE batch_id = $1 AND state = 'pending' AND lease_until IS NOT NULL",
        batch_id,
    )
    assert states.get("pending", 0) > 0 and held == 0, (states, held)
    stopped_at = dict(states)

    async with eligibility(**knobs) as (_, client):
        batch = await eventually(lambda: _complete(snapshot, client), timeout=60, interval=0.2)
        results = (await client.get(location, headers=READ)).json()["results"]
    elapsed = time.perf_counter() - started
    assert (batch["done"], batch["failed"], batch["pending"]) == (500, 0, 0)
    assert sorted(r["patient_id"] for r in results) == sorted(patients)
    assert {(r["state"], r["status"], r["plan_name"]) for r in results} == {
        ("done", like["expected"]["outcome"], like["plan"]["name"])
    }
    done_seen = [d for d, _, _ in progress]
    assert done_seen == sorted(done_seen) and len(set(done_seen)) > 3  # progress moved, never back
    by_member = (await sandbox.stats())["by_member"]
    calls = [by_member.get(m, 0) for m in members]
    assert min(calls) >= 1
    print(
        f"\n[batch] 500 checks accepted in {accepted_in * 1000:.0f} ms; stopped at {stopped_at}; "
        f"complete after restart in {elapsed:.1f}s total "
        f"({500 / elapsed:.0f} checks/s with the 100/s limit); "
        f"payer calls {sum(calls)} (repeated after the stop: {sum(calls) - 500}); "
        f"{len(progress)} progress polls, e.g. {progress[:: max(1, len(progress) // 6)]}"
    )


async def _at_least(snapshot, client, n: int) -> bool:
    return (await snapshot(client))["done"] >= n


async def _complete(snapshot, client) -> dict[str, Any] | None:
    batch = await snapshot(client)
    return batch if batch["complete"] else None


async def test_batch_validation_names_the_item_and_a_retried_post_queues_once(eligibility, sandbox):
    async with eligibility() as (_, client):
        key = {**WRITE, "Idempotency-Key": unique("key")}
        one = {"checks": [make_check_body("SBX10001")]}
        first = await post_batch(client, one["checks"], key)
        again = await post_batch(client, one["checks"], key)
        assert first.status_code == again.status_code == 202
        assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
        bad = [make_check_body("SBX10001"), make_check_body("SBX10001", payer_id="NOPE01")]
        response = await post_batch(client, bad)
        assert response.status_code == 422
        assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
            ("body.checks.1.payer_id", "unknown_payer")
        ]
