"""Taking files from a partner's "from" folder exactly once, against the sandbox's SFTP
mailbox: a file polled twice is taken once; uploads in progress (temp suffix) and names not
settled are left; the remote file is deleted (or moved) only after its received_files row is
committed; a crash mid-download commits nothing and the file is taken next poll; a crash after
the commit, before the delete, leaves a name the next poll only deletes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.gateway.mailbox.usecases import poll
from services.gateway.partners.domain import TradingPartner
from shared.db import Database
from tests.gateway.helpers import partner_config, write_partners

MAX = 1 << 20


class Crash(Exception):
    """What a killed process would leave: the poll stops right there."""


async def crashed_poll(
    db: Database, mailbox: Any, tmp_path: Path, name: str, content: str, *, at: str
) -> tuple[TradingPartner, Path]:
    """A partner whose "from" folder holds `name`, and a poll of it that crashes at stage `at`
    (`read`: the file downloaded, nothing committed; `committed`: its row committed, the
    remote file not yet deleted). Returns the partner and the remote file."""
    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox))
    remote = mailbox.from_dir / name
    remote.write_text(content)

    async def crash(stage: str, _name: str) -> None:
        if stage == at:
            raise Crash

    with pytest.raises(Crash):
        await poll(db, partner, max_file_bytes=MAX, checkpoint=crash)
    return partner, remote


async def received(db: Database, partner_id: str, name: str) -> list:
    async with db.session() as session:
        return (
            await session.execute(
                text(
                    "SELECT id, state, sha256 FROM received_files WHERE partner_id = :p AND remote_name = :n"
                ),
                {"p": partner_id, "n": name},
            )
        ).all()


async def test_a_file_polled_twice_is_taken_once(gateway_db: Database, mailbox, tmp_path: Path) -> None:
    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox, after_download="leave"))
    (mailbox.from_dir / "a.999").write_text("ISA*first~")
    first = await poll(gateway_db, partner, max_file_bytes=MAX)
    second = await poll(gateway_db, partner, max_file_bytes=MAX)
    assert (first.taken, second.taken) == (1, 0)
    assert len(await received(gateway_db, partner.id, "a.999")) == 1
    assert (mailbox.from_dir / "a.999").exists()  # after_download=leave
    # The same name with new content (a clearinghouse replacing it) is a new file.
    (mailbox.from_dir / "a.999").write_text("ISA*second, longer~")
    assert (await poll(gateway_db, partner, max_file_bytes=MAX)).taken == 1
    assert len(await received(gateway_db, partner.id, "a.999")) == 2


async def test_uploads_in_progress_and_unsettled_names_are_left(
    gateway_db: Database, mailbox, tmp_path: Path
) -> None:
    settled, unsettled = write_partners(
        tmp_path / "p.json", partner_config(mailbox), partner_config(mailbox, settle_seconds=3600)
    )
    (mailbox.from_dir / "b.835.part").write_text("ISA*half~")
    old = mailbox.from_dir / "c.835"
    old.write_text("ISA*whole~")
    assert (await poll(gateway_db, unsettled, max_file_bytes=MAX)).taken == 0  # written just now
    assert old.exists()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert (await poll(gateway_db, unsettled, max_file_bytes=MAX)).taken == 1
    (mailbox.from_dir / "d.835").write_text("ISA*other~")
    result = await poll(gateway_db, settled, max_file_bytes=MAX)
    assert result.taken == 1 and result.skipped == 1  # d taken; the .part left
    assert sorted(p.name for p in mailbox.from_dir.iterdir()) == ["b.835.part"]
    assert await received(gateway_db, settled.id, "b.835.part") == []


async def test_the_remote_file_is_deleted_only_after_its_row_is_committed(
    gateway_db: Database, mailbox, tmp_path: Path, admin
) -> None:
    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox))
    remote = mailbox.from_dir / "e.277"
    remote.write_text("ISA*status~")
    seen: list[tuple[str, int, bool]] = []

    async def look(stage: str, name: str) -> None:
        rows = await admin.fetchval(
            "SELECT count(*) FROM gateway.received_files WHERE partner_id = $1 AND remote_name = $2",
            partner.id,
            name,
        )
        seen.append((stage, rows, remote.exists()))

    await poll(gateway_db, partner, max_file_bytes=MAX, checkpoint=look)
    assert seen == [("read", 0, True), ("committed", 1, True)]  # committed while the file was there
    assert not remote.exists()
    entry = await admin.fetchrow(
        "SELECT file_id, disposed_at FROM gateway.mailbox_entries WHERE partner_id = $1 AND remote_name = $2",
        partner.id,
        "e.277",
    )
    assert entry["file_id"] is not None and entry["disposed_at"] is not None


async def test_a_crash_mid_download_commits_nothing_and_the_file_is_taken_next_poll(
    gateway_db: Database, mailbox, tmp_path: Path
) -> None:
    partner, remote = await crashed_poll(gateway_db, mailbox, tmp_path, "f.835", "ISA*remittance~", at="read")
    assert remote.exists() and await received(gateway_db, partner.id, "f.835") == []
    assert (await poll(gateway_db, partner, max_file_bytes=MAX)).taken == 1
    assert len(await received(gateway_db, partner.id, "f.835")) == 1 and not remote.exists()


async def test_a_crash_after_the_commit_leaves_a_name_the_next_poll_only_deletes(
    gateway_db: Database, mailbox, tmp_path: Path
) -> None:
    partner, remote = await crashed_poll(gateway_db, mailbox, tmp_path, "g.999", "ISA*ack~", at="committed")
    assert remote.exists() and len(await received(gateway_db, partner.id, "g.999")) == 1
    result = await poll(gateway_db, partner, max_file_bytes=MAX)
    assert (result.taken, result.disposed) == (0, 1)
    assert not remote.exists() and len(await received(gateway_db, partner.id, "g.999")) == 1


async def test_after_download_move_archives_the_file(gateway_db: Database, mailbox, tmp_path: Path) -> None:
    (partner,) = write_partners(
        tmp_path / "p.json", partner_config(mailbox, after_download="move", archive_folder="archive")
    )
    (mailbox.root / mailbox.user / "archive").mkdir()
    (mailbox.from_dir / "h.835").write_text("ISA*moved~")
    assert (await poll(gateway_db, partner, max_file_bytes=MAX)).taken == 1
    assert (mailbox.root / mailbox.user / "archive" / "h.835").read_text() == "ISA*moved~"
    assert not (mailbox.from_dir / "h.835").exists()


async def test_two_replicas_never_poll_one_mailbox_at_once(
    gateway_db: Database, mailbox, tmp_path: Path
) -> None:
    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox))
    (mailbox.from_dir / "i.835").write_text("ISA*once~")
    inner: list = []

    async def other_replica(stage: str, name: str) -> None:
        if stage == "read":  # while this replica holds the partner's poll lock
            inner.append(await poll(gateway_db, partner, max_file_bytes=MAX))

    outer = await poll(gateway_db, partner, max_file_bytes=MAX, checkpoint=other_replica)
    assert outer.taken == 1 and [r.locked for r in inner] == [False]
    assert len(await received(gateway_db, partner.id, "i.835")) == 1


async def test_make_ups_partners_file_logs_in_to_the_sandbox_mailbox(tmp_path: Path) -> None:
    """deploy/mailbox.py's partners.json (what `make up` and compose give the gateway) loads, and
    its key and pinned host key log in to a sandbox mailbox made from the same keys."""
    from deploy import mailbox as deploy_mailbox
    from deploy.payer_sandbox.mailbox import Mailbox, load_users
    from services.gateway.partners.usecases import credentials, load_partners
    from shared import sftp

    path = deploy_mailbox.write_partners_file(tmp_path / "partners.json", tmp_path / "keys")
    (partner,) = load_partners(path)
    assert partner.receiver_ids == {"SANDBOXCH"}  # every claim the claims service sends by default
    # Claim status in real time against the sandbox's HTTP API (the issue: "the sandbox answers a
    # 276 with a 277, as it answers 270s today").
    assert (partner.claim_status.mode, partner.claim_status.url) == (
        "realtime",
        "http://127.0.0.1:8010/x12/276",
    )
    server = Mailbox(tmp_path / "boxes", load_users(tmp_path / "keys" / "mailbox-users.json"))
    await server.start("127.0.0.1", 0, tmp_path / "keys" / "ssh_host_ed25519_key")
    try:
        (tmp_path / "boxes" / partner.username / "from" / "x.999").write_text("ISA*x~")
        local = partner.model_copy(update={"port": server.port})
        async with sftp.connect(local, credentials(local)) as box:
            assert [e.name for e in await box.list(local.from_folder)] == ["x.999"]
    finally:
        await server.close()
