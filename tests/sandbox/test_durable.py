"""Payer sandbox, durability: partners re-send, and our stand-in for them must not be the weak
link. Killed -9 and started again over its own store, it neither pays a claim twice nor forgets
one; a claim sent again (the same event) is answered once. The EHR publisher waits out a broker
that is not there yet.

The sandbox runs as its own process here (uvicorn, as `make up` runs it) with a mailbox user of
the test's own, and the gateway in process talks to it through that mailbox, as in production.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from deploy.payer_sandbox import ehr
from deploy.payer_sandbox.app import create_app
from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.testing import SampleLine, sample_837, sandbox_process
from deploy.serving import serving
from shared.config import Settings
from shared.events.envelope import encode, new_event
from tests.conftest import end_offsets, gateway_for, read_from
from tests.sandbox.helpers import forwarding, free_port, get_answers, get_claim_traces
from tests.sandbox.test_claims import DOS, submission

CODES = ["99213", "99214", "85025", "93000"]


async def test_a_sandbox_killed_and_restarted_over_its_store_pays_no_claim_twice(
    servers: Any, settings: Settings, producer: AIOKafkaProducer, tmp_path: Any
) -> None:
    bootstrap = servers.kafka_bootstrap
    prefix = "D" + uuid.uuid4().hex[:9].upper()
    pcns = [f"{prefix}{n:03d}" for n in range(1, 5)]
    dos = DOS.strftime("%Y%m%d")
    # One 835 per payer cycle (1 s) with every claim that came in meanwhile: a claim paid again
    # would land in a new 835 with a new trace, as in the fault run.
    env = {
        "SANDBOX_STATE_PATH": str(tmp_path / "sandbox.sqlite3"),
        "SANDBOX_REMITTANCE_MODE": "batched",
        "SANDBOX_REMITTANCE_CYCLE_SECONDS": "1",
    }
    records = [
        encode(
            new_event(
                submission(
                    pcn, sample_837(pcn, "SBX10001", [SampleLine(code, "250.00")], date_of_service=dos)
                ),
                source="claims",
            )
        )
        for pcn, code in zip(pcns, CODES, strict=True)
    ]

    async def send(*chosen: int) -> None:
        for i in chosen:
            topic, key, value, headers = records[i]
            await producer.send_and_wait(topic, value, key=key, headers=headers)

    start = {t: await end_offsets(bootstrap, t) for t in ("claim.acknowledged", "remittance.received")}

    def paid(*wanted: str):
        return lambda rs: all(get_claim_traces(rs, pcn) for pcn in wanted)

    async with sandbox_process(env, mailbox=True, mailbox_dir=tmp_path / "mailbox") as first:
        # The same mailbox (port, user, keys, folders) and store for the sandbox started again.
        again = {
            **env,
            "SANDBOX_MAILBOX": "1",
            "SANDBOX_SFTP_PORT": str(first.sftp_port),
            "SANDBOX_MAILBOX_DIR": str(tmp_path / "mailbox"),
            "SANDBOX_MAILBOX_ROOT": str(tmp_path / "mailbox" / "mailboxes"),
            "SANDBOX_MAILBOX_USERS": str(tmp_path / "mailbox" / "test-users.json"),
            "SANDBOX_RECEIVER_IDS": "SANDBOXTEST",
            "SANDBOX_FILE_POLL_SECONDS": "0.1",
        }
        async with gateway_for(settings, first):
            await send(0, 1, 2)
            await read_from(
                bootstrap,
                "remittance.received",
                start["remittance.received"],
                until=paid(*pcns[:3]),
                timeout=60,
            )
            first.proc.kill()  # kill -9: whatever it had not committed is lost with it
            await first.proc.wait()
            async with sandbox_process(again) as (_, url):
                await send(0, 1, 3)  # two claims it paid, sent again as they were (same events), one new
                await read_from(
                    bootstrap,
                    "remittance.received",
                    start["remittance.received"],
                    until=paid(pcns[3]),
                    timeout=60,
                )
                await asyncio.sleep(3.0)  # three more payer cycles: anything else it would pay shows up
                async with httpx.AsyncClient(base_url=url) as client:
                    stats = (await client.get("/stats")).json()["claims"]
    remits = await _all(bootstrap, "remittance.received", start["remittance.received"])
    acks = await _all(bootstrap, "claim.acknowledged", start["claim.acknowledged"])

    traces = {pcn: get_claim_traces(remits, pcn) for pcn in pcns}
    assert len(traces[pcns[0]]) == 1, traces[pcns[0]]  # paid under one trace only
    (first_trace,) = traces[pcns[0]]
    for pcn in pcns[:3]:
        assert traces[pcn] == {first_trace: ["1"]}, (pcn, traces[pcn])  # paid once, in the first 835
    (new_trace,) = traces[pcns[3]]
    assert new_trace != first_trace and traces[pcns[3]][new_trace] == ["1"]
    for pcn in pcns:
        assert len(get_answers(acks, pcn)) == 1, pcn  # one acknowledgment, however often sent
    # The restarted sandbox remembers the files and the 835 from before the kill.
    assert stats["files_in"] >= 2 and stats["stored_remittances"] >= 2


async def _all(bootstrap: str, topic: str, start: Any) -> list[Any]:
    """Every record of `topic` after `start`, up to its current end."""
    end = await end_offsets(bootstrap, topic)
    total = sum(end[tp] - start.get(tp, 0) for tp in end)
    return await read_from(bootstrap, topic, start, until=lambda rs: len(rs) >= total)


async def test_health_needs_no_broker_and_names_the_mailbox(tmp_path: Any) -> None:
    """The sandbox has no Kafka side any more: it is healthy with no broker at all, and says
    where its SFTP mailbox listens."""
    config = SandboxConfig(
        mailbox=True,
        sftp_port=0,
        mailbox_state_dir=str(tmp_path),
        mailbox_users_file=str(tmp_path / "users.json"),
    )
    (tmp_path / "users.json").write_text('{"users": []}')
    async with serving(create_app(config)) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "pass" and body["mailbox"]["sftp_port"] > 0
        assert "checks" not in body  # no Kafka check: claims come as files
        assert (await client.get("/scenarios")).status_code == 200


async def test_the_ehr_publishes_through_a_broker_that_comes_up_late(servers: Any) -> None:
    """A real partner retries: the broker's port refuses connections at first, then a path to
    the broker opens; every encounter arrives once."""
    bootstrap = servers.kafka_bootstrap
    port = free_port()
    run_id = "late" + uuid.uuid4().hex[:8]
    start = await end_offsets(bootstrap, "encounter.completed")
    through = replace(servers.partner("ehr"), bootstrap=f"127.0.0.1:{port}")
    publishing = asyncio.create_task(ehr.publish(through, 30, rate=0, seed=5, run_id=run_id))
    await asyncio.sleep(2.0)
    assert not publishing.done(), publishing.exception() if publishing.done() else None
    async with forwarding(port, servers.partner("ehr").bootstrap):
        result = await asyncio.wait_for(publishing, 120)
    assert result.count == 30
    prefix = f"enc-{run_id}-".encode()

    def mine(records: list[Any]) -> list[bytes]:
        return [r.key for r in records if r.key and r.key.startswith(prefix)]

    records = await read_from(
        bootstrap, "encounter.completed", start, until=lambda rs: len(set(mine(rs))) >= 30, timeout=60
    )
    assert len(set(mine(records))) == 30
