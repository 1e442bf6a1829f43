"""Outbound: submitted claims routed to their partner by the 837's ISA08 (others ignored),
batched into one interchange per partner at the size threshold or after the batch window,
each file in the partner's envelope (ISA08, ISA15, GS03) and name, valid for pyx12's 837P map,
control numbers unique per partner even with two batchers at once, no claim in two files, and
the upload written under a temporary name and renamed (a crash after the rename is not a
second upload)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from services.gateway.outbound.usecases import build_file, record_claim, upload_built
from shared import x12
from shared.db import Database
from tests.claims.cob import x12_837_errors
from tests.conftest import HeldOpen, encode_signed, eventually
from tests.gateway.helpers import GATEWAY_ALL, claim_event, partner_config, write_partners

SETS_OF_FILE = text(
    "SELECT patient_control_number, set_control_number FROM outbound_claims WHERE file_id = :f"
)


async def queue(db: Database, partner, count: int, partners=None) -> list:
    events = [claim_event(next(iter(partner.receiver_ids))) for _ in range(count)]
    async with db.session() as session:
        for event in events:
            assert await record_claim(session, event, partners or [partner]) == "queued"
        await session.commit()
    return events


async def build(db: Database, partner, **kwargs):
    async with db.session() as session:
        built = await build_file(session, partner, **kwargs)
        await session.commit()
    return built


async def file_row(db: Database, file_id):
    async with db.session() as session:
        return (
            await session.execute(text("SELECT * FROM submission_files WHERE id = :id"), {"id": file_id})
        ).one()


async def test_threshold_builds_one_file_in_the_partners_envelope_and_name(
    gateway_db: Database, mailbox, tmp_path: Path
) -> None:
    test_p, prod_p = write_partners(
        tmp_path / "p.json",
        partner_config(mailbox, usage_indicator="T", isa_receiver_id="STEDITEST", ack_requested=True),
        partner_config(
            mailbox,
            usage_indicator="P",
            isa_receiver_id="STEDI",
            gs_receiver_id="STEDIGS",
            control_number_start=41,
            file_names={"837": "{partner}-{kind}-{icn:09d}-{gcn}.x12"},
        ),
    )
    for partner in (test_p, prod_p):
        events = await queue(gateway_db, partner, 2, [test_p, prod_p])
        assert await build(gateway_db, partner) is None  # 2 < batch_max_claims (3), window not over
        events += await queue(gateway_db, partner, 1, [test_p, prod_p])
        built = await build(gateway_db, partner)
        assert built is not None and built.claim_count == 3
        row = await file_row(gateway_db, built.file_id)
        inter = x12.parse(row.x12, expect="837")  # SE01, GE01, IEA01 counts and control numbers
        assert inter.receiver_id.strip() == partner.isa_receiver_id
        assert inter.usage == partner.usage_indicator
        assert inter.isa.get(14) == ("1" if partner.ack_requested else "0")
        assert inter.groups[0].receiver == partner.gs_receiver_id
        assert [t.control_number for t in inter.transactions] == ["0001", "0002", "0003"]
        assert x12_837_errors(row.x12) == []
        pcns = [
            t.segments[next(i for i, s in enumerate(t.segments) if s.id == "CLM")][1]
            for t in inter.transactions
        ]
        assert pcns == [e.data.patient_control_number for e in events]
        async with gateway_db.session() as session:  # each claim knows its set in the file
            numbered = (
                await session.execute(
                    SETS_OF_FILE,
                    {"f": built.file_id},
                )
            ).all()
        by_set = dict(zip([t.control_number for t in inter.transactions], pcns, strict=True))
        assert {r.set_control_number: r.patient_control_number for r in numbered} == by_set
        assert row.interchange_control_number == f"{partner.control_number_start:09d}"
        assert inter.control_number == row.interchange_control_number
    test_name = (await file_row(gateway_db, (await latest_file(gateway_db, test_p.id)))).file_name
    assert re.fullmatch(rf"{test_p.id}_000000001_\d{{14}}\.837", test_name)
    prod_name = (await file_row(gateway_db, (await latest_file(gateway_db, prod_p.id)))).file_name
    assert prod_name == f"{prod_p.id}-837-000000041-41.x12"


async def latest_file(db: Database, partner_id: str):
    async with db.session() as session:
        return await session.scalar(
            text("SELECT id FROM submission_files WHERE partner_id = :p ORDER BY built_at DESC LIMIT 1"),
            {"p": partner_id},
        )


async def test_window_builds_a_file_of_fewer_claims(gateway_db: Database, mailbox, tmp_path: Path) -> None:
    (partner,) = write_partners(
        tmp_path / "p.json", partner_config(mailbox, batch_max_claims=10, batch_max_seconds=60)
    )
    events = await queue(gateway_db, partner, 2)
    assert await build(gateway_db, partner) is None
    async with gateway_db.session() as session:  # the oldest claim has waited past the window
        await session.execute(
            text(
                "UPDATE outbound_claims SET received_at = received_at - interval '61 seconds' "
                "WHERE event_id = :e"
            ),
            {"e": events[0].id},
        )
        await session.commit()
    built = await build(gateway_db, partner)
    assert built is not None and built.claim_count == 2


async def test_claims_for_no_partner_are_ignored(gateway_db: Database, mailbox, tmp_path: Path) -> None:
    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox))
    stranger = claim_event("SANDBOXTEST")
    async with gateway_db.session() as session:
        assert await record_claim(session, stranger, [partner]) == "ignored"
        assert await record_claim(session, stranger, [partner]) == "ignored"  # redelivered: one row
        await session.commit()
        rows = (
            await session.execute(
                text("SELECT state, partner_id FROM outbound_claims WHERE event_id = :e"), {"e": stranger.id}
            )
        ).all()
    assert [(r.state, r.partner_id) for r in rows] == [("ignored", None)]


async def test_two_batchers_at_once_get_distinct_control_numbers_and_claims(
    gateway_db: Database, mailbox, tmp_path: Path, admin
) -> None:
    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox, batch_max_claims=2))
    events = await queue(gateway_db, partner, 4)
    held = HeldOpen(admin)
    results: list = []

    async def first() -> None:
        results.append(await build(gateway_db, partner, hold=held.hold))

    async def second() -> None:
        results.append(await build(gateway_db, partner))

    await held.run(first(), second)
    assert held.blocked_other  # B waited for A's control-number row, did not read past it
    assert all(r is not None for r in results) and len(results) == 2
    assert len({r.icn for r in results}) == 2 and len({r.gcn for r in results}) == 2
    async with gateway_db.session() as session:
        rows = (
            await session.execute(
                text("SELECT event_id, file_id, state FROM outbound_claims WHERE event_id = ANY(:ids)"),
                {"ids": [e.id for e in events]},
            )
        ).all()
    assert {r.state for r in rows} == {"filed"}
    assert {r.file_id for r in rows} == {r.file_id for r in results}
    per_file = [sum(1 for r in rows if r.file_id == b.file_id) for b in results]
    assert per_file == [2, 2]  # no claim in two files, none left out


async def test_upload_renames_into_place_and_a_crash_after_the_rename_is_not_a_second_upload(
    gateway_db: Database, mailbox, tmp_path: Path
) -> None:
    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox, batch_max_claims=1))
    await queue(gateway_db, partner, 1)
    built = await build(gateway_db, partner)
    assert await upload_built(gateway_db, partner) == 1
    remote = mailbox.to_dir / built.file_name
    row = await file_row(gateway_db, built.file_id)
    assert remote.read_text() == row.x12 and row.state == "uploaded"
    assert sorted(p.name for p in mailbox.to_dir.iterdir()) == [built.file_name]  # no .part left
    inode = remote.stat().st_ino
    async with gateway_db.session() as session:  # the crash: renamed, but "uploaded" never committed
        await session.execute(
            text("UPDATE submission_files SET state = 'built', upload_at = NULL WHERE id = :id"),
            {"id": built.file_id},
        )
        await session.commit()
    assert await upload_built(gateway_db, partner) == 1
    assert remote.stat().st_ino == inode  # found by stat, not written again
    assert (await file_row(gateway_db, built.file_id)).state == "uploaded"


async def test_the_running_gateway_queues_routed_claims_and_reports_them(
    service, producer, mailbox, partners_file: Path
) -> None:
    (partner,) = write_partners(
        partners_file, partner_config(mailbox, batch_max_claims=2, batch_max_seconds=3600)
    )
    ours = [claim_event(next(iter(partner.receiver_ids))) for _ in range(2)]
    stranger = claim_event("SANDBOXTEST")
    async with service("gateway") as (_app, client):
        for event in [*ours, stranger, ours[0]]:  # ours[0] twice: a redelivery
            topic, key, value, headers = encode_signed(event)
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)

        async def uploaded() -> bool:
            return any(p.suffix == ".837" for p in mailbox.to_dir.iterdir())

        await eventually(uploaded, timeout=60)  # consumer → batcher (2 = threshold) → uploader
        report = (await client.get("/v1/reports/mailbox", headers=GATEWAY_ALL)).json()
        partners = (await client.get("/v1/partners", headers=GATEWAY_ALL)).json()
    up = [r for r in report["files_up"] if r["partner_id"] == partner.id]
    assert up == [{"partner_id": partner.id, "kind": "837", "state": "uploaded", "files": 1, "claims": 2}]
    claims = [r for r in report["claims"] if r["partner_id"] == partner.id]
    assert claims == [{"partner_id": partner.id, "state": "filed", "ack_state": "pending", "claims": 2}]
    (shown,) = [p for p in partners if p["id"] == partner.id]
    assert shown["mailbox"]["last_upload_at"] is not None
    text_837 = next(p for p in mailbox.to_dir.iterdir() if p.suffix == ".837").read_text()
    assert len(x12.parse(text_837, expect="837").transactions) == 2


async def test_the_sandbox_clearinghouse_answers_our_file_and_we_take_its_answers(
    gateway_db: Database, tmp_path: Path
) -> None:
    """Our interchange, uploaded to the sandbox's mailbox, is read by its file desk (which checks
    ISA08, ISA15 and every set's envelope) and answered with a 999 and a 277CA in `from/`; one
    poll takes both, once, and leaves the folder empty."""
    from deploy.payer_sandbox.testing import TEST_RECEIVER_ID, running_sandbox
    from services.gateway.mailbox.usecases import poll

    async with running_sandbox(mailbox=True, mailbox_dir=tmp_path / "sandbox") as sandbox:
        (partner,) = write_partners(
            tmp_path / "p.json",
            partner_config(sandbox, isa_receiver_id=TEST_RECEIVER_ID, gs_receiver_id=TEST_RECEIVER_ID),
        )
        await queue(gateway_db, partner, 3)
        built = await build(gateway_db, partner)
        assert built is not None and await upload_built(gateway_db, partner) == 1
        answers = sandbox.root / "from"

        def answered() -> list[str]:
            names = [p.name for p in answers.iterdir() if not p.name.endswith(".part")]
            texts = [(answers / n).read_text() for n in names]
            return names if any("ST*999" in t for t in texts) and any("ST*277" in t for t in texts) else []

        names = await eventually(answered, timeout=60, what="a 999 and a 277CA from the sandbox")
        result = await poll(gateway_db, partner, max_file_bytes=1 << 22)
        assert result.taken == len(names) and result.error is None
        assert list(answers.iterdir()) == []
        async with gateway_db.session() as session:
            kept = (
                await session.execute(
                    text("SELECT content FROM received_files WHERE partner_id = :p"), {"p": partner.id}
                )
            ).all()
        ack = next(r.content for r in kept if "ST*999" in r.content)
        assert "AK9*A*3*3*3" in ack  # the three sets of the group, all accepted
        assert f"AK1*HC*{built.gcn}" in ack


async def test_control_numbers_never_wrap(gateway_db: Database, mailbox, tmp_path: Path) -> None:
    from services.gateway.outbound.store import ControlNumbersExhausted

    (partner,) = write_partners(
        tmp_path / "p.json", partner_config(mailbox, batch_max_claims=1, control_number_start=999_999_999)
    )
    await queue(gateway_db, partner, 2)
    last = await build(gateway_db, partner)
    assert last is not None and last.icn == 999_999_999
    with pytest.raises(ControlNumbersExhausted):
        await build(gateway_db, partner)
    async with gateway_db.session() as session:  # nothing of the refused file was kept
        files = await session.scalar(
            text("SELECT count(*) FROM submission_files WHERE partner_id = :p"), {"p": partner.id}
        )
    assert files == 1


async def test_direct_upload_mode_writes_the_name_itself(
    gateway_db: Database, mailbox, tmp_path: Path
) -> None:
    (partner,) = write_partners(
        tmp_path / "p.json", partner_config(mailbox, batch_max_claims=1, upload_mode="direct")
    )
    await queue(gateway_db, partner, 1)
    built = await build(gateway_db, partner)
    assert await upload_built(gateway_db, partner) == 1
    assert [p.name for p in mailbox.to_dir.iterdir()] == [built.file_name]


async def test_stuck_work_counts_queued_claims_and_unuploaded_files(
    gateway_db: Database, mailbox, tmp_path: Path
) -> None:
    from services.gateway.outbound import store

    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox, batch_max_claims=2))
    async with gateway_db.session() as session:
        queued_before, _ = await store.queued_age(session)
        built_before, _ = await store.built_age(session)
    await queue(gateway_db, partner, 3)
    await build(gateway_db, partner)  # two filed into a built file, one still queued
    async with gateway_db.session() as session:
        queued, queued_oldest = await store.queued_age(session)
        built, built_oldest = await store.built_age(session)
    assert queued - queued_before == 1 and queued_oldest is not None
    assert built - built_before == 1 and built_oldest is not None
