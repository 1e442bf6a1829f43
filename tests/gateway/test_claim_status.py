"""Must-show "Claim status": a claim past its follow-up window is asked about with a 276 (real
HTTP to a running payer sandbox) and the 277's answer changes its status and history.

The path is the real one end to end: the claims service's follow-up worker publishes
`claim.followup_due` (Kafka) → the gateway's handler makes an inquiry → the gateway's sender
writes the 276 from the claim's 837 and POSTs it to the sandbox → the 277 is kept as a
received file (source realtime) and read → `claim.status_reported` (outbox, Kafka) → the
claims service records the answer, moves the claim and writes its history.

The gateway's outbound part (another branch) files `claim.submitted` 837s into
`outbound_claims`; here the claim's row is stored as that part stores it (the claim's own 837,
its PCN, payer and partner), so this test needs only the claim-status path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from x12sdk.io import X12ModelReader

from deploy.payer_sandbox.testing import running_sandbox
from services.gateway.partners.domain import TradingPartner
from tests.claims.conftest import claims_service
from tests.claims.helpers import (
    BILLING_NPI,
    RENDERING_NPI,
    get_claim,
    get_claim_if,
    make_claim,
    make_provider,
    post_submitted_claim,
    put_provider,
)
from tests.conftest import connect_as, eventually, start_group_at_end, unique

PARTNER_ID = "sbx-status"
# The public samples (../shared/samples beside the checkout; /work/shared/README.md).
SAMPLES_277 = Path(__file__).resolve().parents[3] / "shared" / "samples" / "x12" / "277_005010X212"


def partner(url: str) -> TradingPartner:
    """A partner that answers 276s in real time at `url` (its mailbox is not used here)."""
    return TradingPartner.model_validate(
        {
            "id": PARTNER_ID,
            "name": "Sandbox claim status",
            "host": "127.0.0.1",
            "username": "unused",
            "password_env": "UNUSED_PASSWORD",
            "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUNUSEDUNUSEDUNUSEDUNUSEDUNUSEDUNUSED",
            "isa_sender_id": "REVCYCLE",
            "isa_receiver_id": "SANDBOXCH",
            "gs_sender_id": "REVCYCLE",
            "gs_receiver_id": "SANDBOXCH",
            "receiver_ids": ["SANDBOXTEST"],
            "claim_status": {"mode": "realtime", "url": url, "timeout_seconds": 10},
        }
    )


@contextlib.asynccontextmanager
async def gateway_service(settings: Any, url: str) -> AsyncIterator[Any]:
    """The gateway app in process with its consumer (claim.followup_due), no background
    workers (the test runs the sender's rounds), and the sandbox as its real-time partner."""
    from services.gateway.service import SERVICE
    from shared.app import create_app

    group = settings.consumer_group_prefix + "gateway"
    await start_group_at_end(settings.kafka_bootstrap_servers, group, list(SERVICE.handlers))
    app = create_app(replace(SERVICE, workers=[]), settings)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
        app.state.gateway_partners = [partner(url)]
        yield app


async def file_the_claim(
    settings: Any, claim: dict[str, Any], x12_837: str | None = None, partner_id: str = PARTNER_ID
) -> None:
    """The claim's row in the gateway's outbound_claims, as the outbound part files it."""
    if x12_837 is None:
        claims_db = await connect_as("claims", settings)
        try:
            x12_837 = await claims_db.fetchval(
                "SELECT x12_837 FROM claims WHERE id = $1", uuid.UUID(claim["id"])
            )
        finally:
            await claims_db.close()
    gateway_db = await connect_as("gateway", settings)
    now = datetime.now(UTC)
    try:
        await gateway_db.execute(
            "INSERT INTO outbound_claims (event_id, claim_id, patient_control_number, payer_id, partner_id, "
            "frequency_code, x12_837, submitted_at, received_at, state) "
            "VALUES ($1, $2, $3, $4, $5, '1', $6, $7, $7, 'queued')",
            uuid.uuid4(),
            uuid.UUID(claim["id"]),
            claim["patient_control_number"],
            claim["payer_id"],
            partner_id,
            x12_837,
            now,
        )
    finally:
        await gateway_db.close()


async def post_filed_claim(client: Any, settings: Any, member_id: str) -> dict[str, Any]:
    """A claim for the sandbox member `member_id` (whose scenario decides the 277), submitted
    through the claims service and filed in the gateway's outbound_claims; the claim as posted."""
    body = make_claim(unique("pat"))
    body["subscriber"]["member_id"] = member_id
    claim = await post_submitted_claim(client, settings, body)
    await file_the_claim(settings, claim)
    return claim


async def inquiry_of(settings: Any, claim_id: str) -> Any:
    conn = await connect_as("gateway", settings)
    try:
        return await conn.fetchrow(
            "SELECT i.*, f.source AS file_source, f.content AS answer_277 FROM status_inquiries i "
            "LEFT JOIN received_files f ON f.id = i.answer_file_id WHERE i.claim_id = $1",
            uuid.UUID(claim_id),
        )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def claims_from_now(settings: Any) -> None:
    """The claims consumer group of this session starts at the end of its topics, and the
    test EHR's providers are registered (the scrubber holds claims whose providers it lacks)."""
    from services.claims.service import HANDLERS

    group = settings.consumer_group_prefix + "claims"
    asyncio.run(start_group_at_end(settings.kafka_bootstrap_servers, group, list(HANDLERS)))

    async def register() -> None:
        async with claims_service(settings, events=False) as (_, client):
            for body in (make_provider(BILLING_NPI), make_provider(RENDERING_NPI, "person")):
                assert (await put_provider(client, body)).status_code in (200, 201)

    asyncio.run(register())


@pytest.mark.usefixtures("claims_from_now")
async def test_a_claim_past_its_window_is_asked_about_and_the_277_moves_it(settings):
    async with (
        running_sandbox() as sandbox,
        claims_service(settings) as (claims_app, client),
        gateway_service(settings, f"{sandbox.base_url}/x12/276") as gateway,
    ):
        claim = await post_filed_claim(client, settings, "SBX80002")  # the sandbox pends it: P3:317
        assert claim["status"] == "submitted"

        # A month on, the follow-up worker finds it past its payer's window.
        from services.claims.followups.workers import step as followup_step
        from services.gateway.claimstatus.workers import step as send_step

        published = await followup_step(claims_app, datetime.now(UTC) + timedelta(days=91))
        assert published >= 1

        async def asked() -> Any:
            await send_step(gateway)
            row = await inquiry_of(settings, claim["id"])
            return row if row is not None and row["state"] == "answered" else None

        inquiry = await eventually(asked, timeout=60, what="the inquiry answered")
        # The 276 it sent is a valid 005010X212 276 about this claim.
        with X12ModelReader(inquiry["x12_276"]) as reader:
            (model,) = list(reader.models())
        assert type(model).__name__ == "HealthCareClaimsStatusRequest"
        assert f"REF*EJ*{claim['patient_control_number']}~" in inquiry["x12_276"]
        assert f"TRN*1*{inquiry['trace_number']}~" in inquiry["x12_276"]
        # The answer was kept as received before it was read, and echoes our trace.
        assert inquiry["file_source"] == "realtime"
        assert f"TRN*2*{inquiry['trace_number']}~" in inquiry["answer_277"]
        assert [a["code"] for a in json.loads(inquiry["answer"])] == ["P3:317"]

        moved = await eventually(lambda: get_claim_if(client, claim["id"], "accepted"), what="accepted")
        assert [(a["source"], a["category_code"], a["status_code"]) for a in moved["status_answers"]] == [
            ("277", "P3", "317")
        ]
        last = moved["history"][-1]
        assert (last["from_status"], last["to_status"]) == ("submitted", "accepted")
        assert last["reason"].startswith("277 P3:317 effective ")


@pytest.mark.usefixtures("claims_from_now")
async def test_ask_now_route_sends_a_276_and_a_lost_claim_is_rejected(settings):
    from tests.conftest import token

    async with (
        running_sandbox() as sandbox,
        claims_service(settings) as (_, client),
        gateway_service(settings, f"{sandbox.base_url}/x12/276") as gateway,
    ):
        claim = await post_filed_claim(client, settings, "SBX80001")  # accepted, then lost: A4:35
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as gw:
            refused = await gw.post(f"/v1/claim-status/{claim['id']}", headers=token("claims:read"))
            assert refused.status_code == 403
            asked = await gw.post(f"/v1/claim-status/{claim['id']}", headers=token("gateway:write"))
        assert asked.status_code == 200, asked.text
        assert asked.json()["state"] == "answered" and "A4:35" in str(asked.json()["answer"])
        lost = await eventually(lambda: get_claim_if(client, claim["id"], "rejected"), what="rejected")
        assert lost["history"][-1]["reason"].startswith("277 A4:35")
        assert (await get_claim(client, claim["id"]))["status_answers"][0]["category_code"] == "A4"


async def test_an_unsolicited_277_file_reports_each_claim_by_its_patient_control_number(settings, gateway_db):
    """A received 277 X212 goes through the inbound dispatcher (identified, read by
    statusreports.on_277): no inquiry of ours, so each claim is matched by REF*EJ among the
    claims we filed; one claim.status_reported each goes into the outbox with its codes and
    descriptions, and the file is marked processed."""
    from services.gateway.inbound import store as inbound_store, usecases as inbound

    content = (SAMPLES_277 / "claim-level-status.277").read_bytes()
    # Our own claim with the sample's first PCN (unique per run: the sample's PCN plus nothing
    # else would collide across runs, so the file's REF*EJ is rewritten to this run's PCN).
    pcn = unique("SM")[:17].upper()
    content = content.replace(b"REF*EJ*SM123456~", f"REF*EJ*{pcn}~".encode())
    claim_id = uuid.uuid4()
    await file_the_claim(
        settings,
        {"id": str(claim_id), "patient_control_number": pcn, "payer_id": "SBX001"},
        x12_837="ISA*placeholder~",
    )
    async with gateway_db.session() as session, session.begin():
        kept = await inbound.keep(
            session,
            partner_id=PARTNER_ID,
            source="upload",
            remote_name=f"{pcn}.277",
            content=content,
            actor="test",
        )
        row = await inbound_store.file_by_id(session, kept.file_id)
        outcome = await inbound.process(session, row, {})
    assert outcome.review is None and outcome.counts["claims_reported"] == 3
    conn = await connect_as("gateway", settings)
    try:
        events = await conn.fetch(
            "SELECT event_key, payload FROM outbox "
            "WHERE topic = 'claim.status_reported' AND event_key = ANY($1::text[])",
            [str(claim_id), "J0234567", "MA345678"],
        )
        state = await conn.fetchrow(
            "SELECT kind, state, counts FROM received_files WHERE id = $1", kept.file_id
        )
    finally:
        await conn.close()
    ours = [json.loads(e["payload"]) for e in events if e["event_key"] == str(claim_id)]
    (event,) = ours
    data = event.get("data", event)
    assert (data["patient_control_number"], data["payer_claim_control_number"]) == (pcn, "05347006051")
    assert data["statuses"][0]["category_code"] == "P3" and data["statuses"][0]["status_code"] == "317"
    assert data["statuses"][0]["category_description"].startswith("Pending/Provider Requested Information")
    assert data["effective_date"] == "2005-09-13" and data["total_charge"] == "8513.88"
    assert (state["kind"], state["state"]) == ("277", "processed")


async def test_batch_inquiries_go_as_a_276_file_through_the_mailbox_and_277_files_answer_them(
    settings, gateway_db, tmp_path
):
    """A partner in batch mode: waiting inquiries become one 276 file (x12sdk reads it), the
    outbound uploader puts it in the sandbox's `to/`, the sandbox's file desk answers a 999 and
    a 277 file (valid for the corrected pyx12 map), one poll keeps both, and the 277 handed to
    on_277 (as the inbound part dispatches an identified 277 X212) answers the inquiry."""
    from sqlalchemy import text as sql

    from deploy.payer_sandbox.testing import TEST_RECEIVER_ID
    from services.claims.claims.schemas import ClaimData
    from services.claims.settings import ClaimsSettings
    from services.claims.submission.x12 import generate
    from services.gateway.claimstatus import store, usecases
    from services.gateway.inbound import store as inbound_store, usecases as inbound_usecases
    from services.gateway.mailbox.usecases import poll
    from services.gateway.outbound.usecases import upload_built
    from tests.gateway.helpers import partner_config, write_partners
    from tests.gateway.test_samples_277 import pyx12_277_errors

    async with running_sandbox(mailbox=True, mailbox_dir=tmp_path / "sandbox") as sandbox:
        (batch_partner,) = write_partners(
            tmp_path / "p.json",
            partner_config(
                sandbox,
                isa_receiver_id=TEST_RECEIVER_ID,
                gs_receiver_id=TEST_RECEIVER_ID,
                claim_status={"mode": "batch"},
            ),
        )
        body = make_claim(unique("pat"))
        body["subscriber"]["member_id"] = "SBX80002"  # pended: P3:317
        pcn = unique("B")[:17].upper()
        claim = {"id": str(uuid.uuid4()), "patient_control_number": pcn, "payer_id": body["payer_id"]}
        x12_837 = generate(
            ClaimData.model_validate(body), pcn, control_number=7001, settings=ClaimsSettings()
        )
        await file_the_claim(settings, claim, x12_837=x12_837, partner_id=batch_partner.id)

        now = datetime.now(UTC)
        async with gateway_db.session() as session, session.begin():
            inquiry_id = await usecases.inquire(session, uuid.UUID(claim["id"]), now, "test")
            # Every pending inquiry is due (oldest first): earlier tests of a whole run leave
            # theirs, so take them all, not the first ten, or this one may not be among them.
            due = await store.take_due(session, 100_000, 60)
        mine = [r for r in due if r.id == inquiry_id]
        await usecases.send_due(gateway_db, usecases.Sender({batch_partner.id: batch_partner}), mine, "test")
        async with gateway_db.session() as session, session.begin():
            name = await usecases.build_batch(session, batch_partner, now)
        assert name is not None and name.endswith(".276")
        async with gateway_db.session() as session:
            file_text = (
                await session.execute(
                    sql("SELECT x12 FROM submission_files WHERE file_name = :n"), {"n": name}
                )
            ).scalar_one()
        with X12ModelReader(file_text) as reader:
            (model,) = list(reader.models())
        assert type(model).__name__ == "HealthCareClaimsStatusRequest"
        assert await upload_built(gateway_db, batch_partner) == 1

        answers = sandbox.root / "from"

        def answered() -> list[str]:
            texts = [p.read_text() for p in answers.iterdir() if not p.name.endswith(".part")]
            return texts if any("ST*277*" in t for t in texts) and any("ST*999*" in t for t in texts) else []

        texts = await eventually(answered, timeout=60, what="a 999 and a 277 from the sandbox")
        assert pyx12_277_errors(next(t for t in texts if "ST*277*" in t)) == []
        result = await poll(gateway_db, batch_partner, max_file_bytes=1 << 22)
        assert result.taken == 2 and result.error is None
        async with gateway_db.session() as session, session.begin():
            kept = (
                await session.execute(
                    sql("SELECT id FROM received_files WHERE partner_id = :p AND content LIKE '%ST*277*%'"),
                    {"p": batch_partner.id},
                )
            ).scalar_one()
            row = await inbound_store.file_by_id(session, kept)
            outcome = await inbound_usecases.process(session, row, {})
            assert outcome.counts["claims_reported"] == 1
        inquiry = await inquiry_of(settings, claim["id"])
        assert inquiry["state"] == "answered" and inquiry["mode"] == "batch"
        assert [a["code"] for a in json.loads(inquiry["answer"])] == ["P3:317"]
