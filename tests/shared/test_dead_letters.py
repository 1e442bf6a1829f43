"""Dead letters can be seen and replayed (issue 16, item 2), end to end on the claims service.

The poison is a business rule with a missing prerequisite: this test's claims service refuses
an encounter whose billing provider is not in its provider registry (a stricter policy than the
shipped one, which holds such claims in the scrubber; the refusal wraps the real handler, which
makes the claim once the rule passes). The operator sees the dead letter, fixes the cause by
registering the provider, replays, and the claim exists once, however often it is replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.app import create_app
from shared.config import Settings
from shared.consumer import PermanentError, batched
from shared.deadletters.domain import REDACTED
from shared.events import encode, new_event
from shared.events.catalogue import (
    EncounterCompleted,
)
from shared.events.envelope import H_ID
from tests.claims.helpers import make_npi, make_provider, put_provider
from tests.conftest import (
    encode_signed,
    end_offsets,
    eventually,
    kafka_env,
    sign_as,
    start_group_at_end,
    token,
    unique,
)
from tests.shared.helpers import claims_take_encounters_from, closed_port, committed_offsets, make_encounter

ROOT = Path(__file__).resolve().parents[2]
SOURCE = f"/partners/dlq-test-{uuid.uuid4().hex[:8]}"
OPS_READ = token("ops:read")
OPS_PHI = token("ops:read", "ops:phi")
OPS_REPLAY = token("ops:read", "ops:replay")
LETTERS = "/v1/ops/dead-letters"


@contextlib.asynccontextmanager
async def strict_claims(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient, str]]:
    """The claims service, refusing encounters whose billing provider is not registered, with
    a consumer group of its own that starts at the end of its topics; (app, client, group)."""
    from services.claims.providers import usecases as providers
    from services.claims.service import SERVICE
    from services.claims.submission.events import on_encounters_completed

    async def strict(session: Any, events: Any) -> None:
        known = await providers.registry(session, {e.data.billing_provider_npi for e in events})
        if any(e.data.billing_provider_npi not in known for e in events):
            raise PermanentError("billing provider is not in the registry")
        await on_encounters_completed(session, events)

    prefix = f"dlq-{uuid.uuid4().hex[:8]}-"
    ours = settings.model_copy(update={"consumer_group_prefix": prefix})
    handlers = {**SERVICE.handlers, "encounter.completed": batched(strict)}
    await start_group_at_end(ours.kafka_bootstrap_servers, prefix + "claims", list(handlers))
    app = create_app(replace(SERVICE, handlers=handlers, workers=[]), ours)
    with claims_take_encounters_from(SOURCE):
        async with app.router.lifespan_context(app):
            await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://claims", timeout=60) as client:
                yield app, client, prefix + "claims"


async def publish(producer: Any, payload: EncounterCompleted) -> uuid.UUID:
    event = new_event(payload, source=SOURCE)
    topic, key, value, headers = encode_signed(event)
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    return event.id


async def publish_garbage(producer: Any) -> uuid.UUID:
    """A record on encounter.completed that is not JSON, with a well-formed envelope."""
    event = new_event(make_encounter(make_npi()), source=SOURCE)
    topic, key, _, headers = encode(event)
    headers = sign_as("ehr", key, b"{not json", headers)
    await producer.send_and_wait(topic, value=b"{not json", key=key, headers=headers)
    return event.id


async def listed(client: httpx.AsyncClient, **params: Any) -> dict[str, dict[str, Any]]:
    """The dead letters the route lists, by event id."""
    resp = await client.get(LETTERS, params={"topic": "encounter.completed", **params}, headers=OPS_READ)
    assert resp.status_code == 200, resp.text
    return {item["event_id"]: item for item in resp.json()["items"]}


async def parked(client: httpx.AsyncClient, *event_ids: uuid.UUID) -> dict[str, dict[str, Any]]:
    async def all_listed() -> dict[str, dict[str, Any]] | None:
        found = await listed(client)
        return found if {str(i) for i in event_ids} <= set(found) else None

    return await eventually(all_listed, timeout=30, what="dead letters listed")


async def claims_for(admin: Any, encounter_id: str) -> int:
    return await admin.fetchval("SELECT count(*) FROM claims.claims WHERE encounter_id = $1", encounter_id)


async def caught_up(bootstrap: str, group: str) -> None:
    """Wait until the group has committed past everything on encounter.completed now."""
    end = await end_offsets(bootstrap, "encounter.completed")

    async def done() -> bool:
        committed = await committed_offsets(bootstrap, group)
        return all(committed.get(tp, 0) >= offset for tp, offset in end.items())

    await eventually(done, timeout=60, what="consumer caught up")


async def test_a_poisoned_event_is_seen_fixed_replayed_and_takes_effect_once(
    settings, servers, producer, admin
):
    npi = make_npi()
    encounter = make_encounter(npi)
    async with strict_claims(settings) as (_, client, group):
        poisoned = await publish(producer, encounter)
        garbage = await publish_garbage(producer)
        letters = await parked(client, poisoned, garbage)
        rule, schema = letters[str(poisoned)], letters[str(garbage)]
        assert (rule["reason"], rule["status"], rule["topic"]) == ("rule", "parked", "encounter.completed")
        assert rule["error"] == "handler: billing provider is not in the registry"
        assert rule["key"] == encounter.encounter_id and rule["consumer_group"] == group
        assert (schema["reason"], schema["error"]) == ("schema", "schema: payload is not valid JSON")
        assert await claims_for(admin, encounter.encounter_id) == 0

        # Shown with its headers; PHI redacted without ops:phi, shown with it.
        shown = await client.get(f"{LETTERS}/{rule['id']}", headers=OPS_READ)
        assert shown.status_code == 200, shown.text
        body = shown.json()
        assert body["headers"][H_ID] == str(poisoned) and body["headers"]["dlq_reason"] == "rule"
        assert body["payload_redacted"] is True
        assert body["payload"]["encounter_id"] == encounter.encounter_id
        assert body["payload"]["lines"][0]["code"] == "99213"
        patient = body["payload"]["patient"]
        assert [patient[k] for k in ("first_name", "last_name", "birth_date", "address")] == [REDACTED] * 4
        assert body["payload"]["diagnoses"] == REDACTED
        assert body["payload"]["coverages"][0]["member_id"] == REDACTED
        for secret in ("Annabel", "Leeworth", "1970-03-04", "9 Elm St", "E11.9", "SBX10001"):
            assert secret not in shown.text
        with_phi = (await client.get(f"{LETTERS}/{rule['id']}", headers=OPS_PHI)).json()
        assert with_phi["payload"]["patient"]["first_name"] == "Annabel" and not with_phi["payload_redacted"]
        garbage_shown = (await client.get(f"{LETTERS}/{schema['id']}", headers=OPS_READ)).json()
        assert garbage_shown["payload"] == "[withheld: 9 bytes that are not JSON]"

        # Replaying needs ops:replay.
        refused = await client.post(f"{LETTERS}/{rule['id']}/replay", headers=OPS_READ)
        assert refused.status_code == 403

        # Fix the cause, replay: the claim is made, once.
        assert (await put_provider(client, make_provider(npi))).status_code in (200, 201)
        replayed = await client.post(f"{LETTERS}/{rule['id']}/replay", headers=OPS_REPLAY)
        assert replayed.status_code == 200, replayed.text
        assert (replayed.json()["status"], replayed.json()["replays"]) == ("replayed", 1)
        await eventually(lambda: claims_for(admin, encounter.encounter_id), timeout=30, what="claim made")
        again = await client.post(f"{LETTERS}/{rule['id']}/replay", headers=OPS_REPLAY)
        assert again.status_code == 200 and again.json()["replays"] == 2
        await caught_up(servers.kafka_bootstrap, group)
        assert await claims_for(admin, encounter.encounter_id) == 1
        inbox = await admin.fetchval(
            "SELECT count(*) FROM claims.inbox WHERE consumer_group = $1 AND event_id = $2", group, poisoned
        )
        assert inbox == 1, "the replays kept the event id, so the inbox skipped the second"
        assert str(poisoned) not in await listed(client), "not parked again"

        # The undecodable one is discarded, with a reason; a discarded letter is not replayed.
        no_reason = await client.post(f"{LETTERS}/{schema['id']}/discard", json={}, headers=OPS_REPLAY)
        assert no_reason.status_code == 422
        discarded = await client.post(
            f"{LETTERS}/{schema['id']}/discard",
            json={"reason": "EHR test record, resent fixed"},
            headers=OPS_REPLAY,
        )
        assert discarded.status_code == 200, discarded.text
        assert (discarded.json()["status"], discarded.json()["note"]) == (
            "discarded",
            "EHR test record, resent fixed",
        )
        assert (await client.post(f"{LETTERS}/{schema['id']}/replay", headers=OPS_REPLAY)).status_code == 409
        assert (
            await client.post(
                f"{LETTERS}/{schema['id']}/discard", json={"reason": "twice"}, headers=OPS_REPLAY
            )
        ).status_code == 409

        # Filters: state, reason, age; only the topics this service consumes.
        everything = await listed(client, status="any")
        assert (everything[str(poisoned)]["status"], everything[str(garbage)]["status"]) == (
            "replayed",
            "discarded",
        )
        assert set(await listed(client, status="any", reason="schema")) >= {str(garbage)}
        assert str(poisoned) not in await listed(client, status="any", reason="schema")
        assert not {str(poisoned), str(garbage)} & set(await listed(client, status="any", older_than="1h"))
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        assert not {str(poisoned), str(garbage)} & set(await listed(client, status="any", date_from=tomorrow))
        assert (await client.get(LETTERS, params={"older_than": "soon"}, headers=OPS_READ)).status_code == 422
        assert (
            await client.get(LETTERS, params={"topic": "payment.late"}, headers=OPS_READ)
        ).status_code == 422
        missing = await client.get(f"{LETTERS}/{uuid.uuid4()}", headers=OPS_READ)
        assert missing.status_code == 404

        # Every action is in the audit trail.
        audit = await client.get("/v1/audit", params={"resource_type": "dead_letter"}, headers=OPS_READ)
        entries = [(e["action"], e["resource_id"], e["outcome"]) for e in audit.json()]
    assert ("read", rule["id"], "success") in entries and ("read-phi", rule["id"], "success") in entries
    assert [e for e in entries if e[:2] == ("replay", rule["id"]) and e[2] == "success"] == [
        ("replay", rule["id"], "success")
    ] * 2
    assert ("discard", schema["id"], "success") in entries
    assert any(action == "list" for action, _, _ in entries)


async def test_replaying_all_that_match_sends_each_parked_letter_back_once(
    settings, servers, producer, admin
):
    npi = make_npi()
    encounters = [make_encounter(npi) for _ in range(3)]
    async with strict_claims(settings) as (_, client, group):
        ids = [await publish(producer, e) for e in encounters]
        await parked(client, *ids)
        await put_provider(client, make_provider(npi))
        body = {"topic": "encounter.completed", "reason": "rule"}
        first = await client.post(f"{LETTERS}/replay", json=body, headers=OPS_REPLAY)
        assert first.status_code == 200, first.text
        assert first.json()["replayed"] == 3 and not first.json()["missing"]
        for encounter in encounters:
            await eventually(
                lambda e=encounter: claims_for(admin, e.encounter_id), timeout=30, what="claims made"
            )
        second = await client.post(f"{LETTERS}/replay", json=body, headers=OPS_REPLAY)
        assert second.json()["replayed"] == 0, "only parked letters are replayed in bulk"
        bad = await client.post(f"{LETTERS}/replay", json={"older_than": "later"}, headers=OPS_REPLAY)
        assert bad.status_code == 422
        await caught_up(servers.kafka_bootstrap, group)
    assert [await claims_for(admin, e.encounter_id) for e in encounters] == [1, 1, 1]


async def _cli(settings: Settings, group: str, *args: str) -> Any:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        **kafka_env(settings),
        "CONSUMER_GROUP_PREFIX": group.removesuffix("claims"),
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "shared.deadletters", "--json", "--actor", "cli:tester", *args]
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


async def test_the_command_line_lists_shows_replays_and_discards(settings, servers, producer, admin):
    npi = make_npi()
    kept, dropped = make_encounter(npi), make_encounter(npi)
    async with strict_claims(settings) as (_, client, group):
        ids = [await publish(producer, kept), await publish(producer, dropped)]
        await parked(client, *ids)
        rows = await _cli(settings, group, "--service", "claims", "list", "--topic", "encounter.completed")
        by_event = {r["event_id"]: r for r in rows}
        assert {str(i) for i in ids} <= set(by_event)
        kept_id, dropped_id = by_event[str(ids[0])]["id"], by_event[str(ids[1])]["id"]
        shown = await _cli(settings, group, "--service", "claims", "show", kept_id)
        assert shown["payload"]["patient"]["first_name"] == REDACTED
        assert (await _cli(settings, group, "--service", "claims", "show", kept_id, "--phi"))["payload"][
            "patient"
        ]["first_name"] == "Annabel"
        await put_provider(client, make_provider(npi))
        assert (await _cli(settings, group, "--service", "claims", "replay", kept_id))["status"] == "replayed"
        gone = await _cli(
            settings, group, "--service", "claims", "discard", dropped_id, "--reason", "duplicate visit"
        )
        assert gone["status"] == "discarded" and gone["decided_by"] == "cli:tester"
        await eventually(lambda: claims_for(admin, kept.encounter_id), timeout=30, what="claim made")
        await caught_up(servers.kafka_bootstrap, group)
    assert await claims_for(admin, kept.encounter_id) == 1
    assert await claims_for(admin, dropped.encounter_id) == 0
    actions = await admin.fetch(
        "SELECT action, resource_id, patient_id FROM claims.audit_log WHERE actor = 'cli:tester' "
        "AND resource_type = 'dead_letter' AND resource_id = ANY($1)",
        [kept_id, dropped_id],
    )
    assert sorted((a["action"], a["resource_id"]) for a in actions) == sorted(
        [("read", kept_id), ("read-phi", kept_id), ("replay", kept_id), ("discard", dropped_id)]
    )
    assert {a["patient_id"] for a in actions if a["action"].startswith("read")} == {kept.patient_id}


async def test_a_record_parked_twice_is_one_letter_and_kafka_away_leaves_the_index_as_it_stands(
    settings, servers, producer
):
    """The consumer may send a record to the dead-letter topic twice (its send was retried): the
    index keeps one letter. Without Kafka, the list answers from the index (not current), and
    showing a letter is a transient failure (the route answers 503)."""
    from aiokafka.structs import ConsumerRecord

    from shared.config import service_database_url
    from shared.db import Database
    from shared.deadletters import usecases
    from shared.deadletters.domain import dead_letter_headers
    from shared.deadletters.store import Filters
    from shared.paging import PageQuery
    from shared.retry import transient

    group = unique("group")
    event = new_event(make_encounter(make_npi()), source=SOURCE)
    topic, key, value, headers = encode(event)
    original = ConsumerRecord(topic, 1, 4242, 0, 0, key, value, None, len(key), len(value), headers)
    parked_headers = dead_letter_headers(
        original, group=group, error="handler: rule", attempts=1, reason="rule"
    )
    for _ in range(2):
        await producer.send_and_wait("encounter.completed.dlq", value=value, key=key, headers=parked_headers)
    db = Database(service_database_url("claims", settings), "claims", pool_size=2)
    queue = usecases.Queue(db, servers.kafka, group, "claims", ("encounter.completed",))
    away = replace(queue, kafka=replace(queue.kafka, bootstrap=f"127.0.0.1:{closed_port()}"))
    try:
        rows, _, current = await usecases.listing(queue, Filters(), PageQuery(None, 50))
        assert current and [r["event_id"] for r in rows] == [str(event.id)]
        rows, _, current = await usecases.listing(away, Filters(), PageQuery(None, 50))
        assert not current and [r["event_id"] for r in rows] == [str(event.id)]
        try:
            await usecases.show(away, rows[0]["id"])
        except Exception as exc:
            assert transient(exc) == "kafka unreachable"
        else:
            raise AssertionError("a letter was shown without Kafka")
    finally:
        await db.dispose()


def test_a_record_parked_with_unreadable_headers_is_still_indexed():
    """A partner's consumer, or an older version, may park records with headers missing or
    malformed: the index takes them with defaults rather than stopping at them."""
    from aiokafka.structs import ConsumerRecord

    from shared.deadletters.domain import index_row

    headers = [("dlq_attempts", b"many"), ("dlq_failed_at", b"yesterday"), ("dlq_error", b"decode: \xff")]
    record = ConsumerRecord(
        "encounter.completed.dlq", 2, 7, 1_700_000_000_000, 0, None, b"x", None, 0, 1, headers
    )
    row = index_row(record)
    assert (row["topic"], row["reason"], row["attempts"], row["original_offset"]) == (
        "encounter.completed",
        "schema",
        1,
        -1,
    )
    assert row["failed_at"].year == 2023 and row["event_id"] is None and row["event_key"] is None
