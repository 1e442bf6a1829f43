"""Must-show "outside files": files a person puts by hand into the clearinghouse mailbox's
`from/` folder with OpenSSH's own client (`sftp -b`, the sandbox's client key, its host key
pinned in a known_hosts file) are taken by the gateway like the clearinghouse's own. An 835
posts in the payments service; junk and a 271 land in the review queue with their reason and
are kept; an acknowledgment of a file not on record yet is reprocessed once the file is, and
the others are dismissed (still kept)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from deploy.payer_sandbox.testing import SandboxHandle, running_sandbox
from shared.config import Settings
from tests.conftest import (
    end_offsets,
    eventually,
    read_from,
    running_service,
    service_definition,
    start_group_at_end,
    unique,
)
from tests.gateway.helpers import ALL, make_999, partner_config, sample, seed_file, staged, write_partners
from tests.payments.helpers import ALL as PAYMENTS, make_835, make_clp, submit_claim, wait_for_charge
from tests.sandbox.test_mailbox import sftp


async def put_by_hand(sandbox: SandboxHandle, tmp: Path, name: str, content: bytes) -> None:
    """`sftp -b`: put the file under a temporary name, then rename it, as a careful person does
    (the gateway never takes a `.part`)."""
    local = tmp / f"local-{name}"
    local.write_bytes(content)
    done = await sftp(sandbox, f"put {local} /from/{name}.part\nrename /from/{name}.part /from/{name}\n", tmp)
    assert done.returncode == 0, done.stderr


async def received(admin: Any, partner_id: str, name: str) -> Any:
    return await admin.fetchrow(
        "SELECT id, kind, state, source FROM gateway.received_files"
        " WHERE partner_id = $1 AND remote_name = $2",
        partner_id,
        name,
    )


async def payments_settings(settings: Settings) -> Settings:
    """The payments tests' own consumer group (one per test database), started at the end of
    its topics: the test database is made afresh each session, so whatever the shared broker
    holds from before (other sessions' claims, a 25,000-claim 835) is not this test's to post.
    From the earliest offset, a new TEST_DATABASE_NAME replayed all of it first (issue 19)."""
    database = os.environ.get("TEST_DATABASE_NAME") or "default"
    own = settings.model_copy(update={"consumer_group_prefix": f"test-payments-{database}-"})
    topics = list(service_definition("payments").handlers)
    await start_group_at_end(own.kafka_bootstrap_servers, own.consumer_group_prefix + "payments", topics)
    return own


async def test_an_835_put_by_hand_into_from_posts(
    gateway, producer, admin, servers, settings: Settings, tmp_path: Path
) -> None:
    account, pcn, trace = unique("acct"), unique("P")[:17], unique("TRN")
    name = f"ERA_{trace}.835"
    start = await end_offsets(servers.kafka_bootstrap, "payment.posted")
    async with (
        running_sandbox(mailbox=True, mailbox_dir=tmp_path / "box") as sandbox,
        running_service("payments", await payments_settings(settings)) as (_, payments),
        gateway() as (app, _),
    ):
        (partner,) = write_partners(tmp_path / "p.json", partner_config(sandbox, poll_seconds=0.2))
        app.state.gateway_partners.append(partner)
        claim_id = await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="200.00")
        await wait_for_charge(payments, account, "200.00")
        era = make_835(trace, [make_clp(pcn, "1", "200", "150", "50", [("PR", "2", "50")], pccn="PAYER-9")])
        await put_by_hand(sandbox, tmp_path, name, era.encode())

        records = await read_from(
            servers.kafka_bootstrap,
            "payment.posted",
            start,
            until=lambda rs: any(r.key == str(claim_id).encode() for r in rs),
            timeout=90,
        )
        account_now = (await payments.get(f"/v1/accounts/{account}", headers=PAYMENTS)).json()
    (posted,) = [json.loads(r.value) for r in records if r.key == str(claim_id).encode()]
    assert (posted["trace_number"], posted["amount"], posted["payer_claim_control_number"]) == (
        trace,
        "150.00",
        "PAYER-9",
    )
    assert account_now["insurance_pending"] == "0.00" and account_now["patient_due"] == "50.00"
    row = await received(admin, partner.id, name)
    assert (row["kind"], row["state"], row["source"]) == ("835", "processed", "mailbox")
    assert await received(admin, partner.id, f"{name}.part") is None, "the temporary name is never taken"
    assert not (sandbox.root / "from" / name).exists(), "deleted once kept"


async def test_files_of_other_types_put_by_hand_go_to_review_are_kept_and_resolved(
    gateway, admin, tmp_path: Path
) -> None:
    # Content of this test's own (test_review uploads the same sample and junk: a file whose
    # content is already on record is kept as a duplicate, not reviewed again).
    junk = b"ISA*00*" + uuid.uuid4().hex.encode() + b"x" * 200 + b"~"
    icn = f"{uuid.uuid4().int % 10**9:09d}"
    eligibility = (
        sample("271_005010X279A1/subscriber-health-benefit-check.271")
        .replace(b"*000000907*", f"*{icn}*".encode())
        .replace(b"IEA*1*000000907", f"IEA*1*{icn}".encode())
    )
    gcn = str(40_000 + int(unique("9")[-4:], 16) % 50_000)
    ack = make_999(gcn)
    async with (
        running_sandbox(mailbox=True, mailbox_dir=tmp_path / "box") as sandbox,
        gateway() as (app, client),
    ):
        (partner,) = write_partners(tmp_path / "p.json", partner_config(sandbox, poll_seconds=0.2))
        app.state.gateway_partners.append(partner)
        files = {"junk.x12": junk, "eligibility.271": eligibility, "ack.999": ack}
        for name, content in files.items():
            await put_by_hand(sandbox, tmp_path, name, content)

        async def all_in_review() -> list[Any]:
            rows = [await received(admin, partner.id, n) for n in files]
            return rows if all(r is not None and r["state"] == "review" for r in rows) else []

        rows = dict(zip(files, await eventually(all_in_review, timeout=60, what="the three files in review")))
        items = (await client.get("/v1/review", params={"limit": 200}, headers=ALL)).json()["items"]
        reasons = {n: [i["reason"] for i in items if i["file_id"] == str(r["id"])] for n, r in rows.items()}
        assert reasons == {"junk.x12": ["unreadable"], "eligibility.271": ["unsupported"],
                           "ack.999": ["unmatched_ack"]}  # fmt: skip
        for name, content in files.items():  # kept exactly as received, gone from the mailbox
            raw = await client.get(f"/v1/files/{rows[name]['id']}/x12", headers=ALL)
            assert raw.content == content and not (sandbox.root / "from" / name).exists()

        item = {n: next(i for i in items if i["file_id"] == str(r["id"])) for n, r in rows.items()}
        # What the 999 lacked: the file it answers, now on record; reprocessing matches it.
        pcn = unique("R")[:17]
        _, claims = await seed_file(admin, partner.id, icn=f"{int(gcn):09d}", gcn=gcn, claims=[(pcn, "0002")])
        reprocess = f"/v1/review/{item['ack.999']['id']}/reprocess"
        done = await client.post(reprocess, json={"note": "sent file restored"}, headers=ALL)
        assert done.status_code == 200 and done.json()["state"] == "processed", done.text
        assert len(await staged(admin, "claim.rejected.v1", {str(claims[pcn])})) == 1
        for name in ("junk.x12", "eligibility.271"):
            dismiss = f"/v1/review/{item[name]['id']}/dismiss"
            dismissed = await client.post(dismiss, json={"note": "not ours"}, headers=ALL)
            assert dismissed.status_code == 200, dismissed.text
            raw = await client.get(f"/v1/files/{rows[name]['id']}/x12", headers=ALL)
            assert raw.content == files[name], "a dismissed file stays kept"
