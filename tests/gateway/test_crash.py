"""Must-show "crash safety": the gateway, as its own process, is killed with SIGKILL in the
middle of an upload (a `.part` half written in the sandbox's `to/`) and in the middle of a
download (a 999, a 277CA and an 835 waiting in `from/`, one of them half read), and restarted
each time. Afterwards: no claim is in two files the clearinghouse took, no file is lost or
processed twice, every claim's acknowledgment is staged once, the interchange is answered by
one 999, and no remote file disappeared before its received_files row existed.

The sandbox runs as its own process too, with throttled transfers (SANDBOX_SFTP_*_DELAY_MS:
each 512-byte chunk waits), so GET /mailbox/transfers shows a transfer half done long enough
to kill the gateway right then."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.payer_sandbox.testing import TEST_RECEIVER_ID, sandbox_process
from services.gateway.outbound.usecases import record_claim
from shared import x12
from shared.config import Settings, asyncpg_dsn
from shared.db import Database
from tests.conftest import eventually, kafka_env
from tests.gateway.helpers import claim_event, partner_config, write_partners

pytestmark = pytest.mark.disruptive  # kills (its own) processes; runs with the disruptive tests

CLAIMS = 30
ROOT = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def gateway_process(env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """The gateway as `make up` runs it (python -m uvicorn, its own process, output in `log`),
    once /health/live answers; killed on exit if still running."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["-m", "uvicorn", "services.gateway.main:app", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        async def live() -> bool:
            assert proc.returncode is None, f"the gateway exited ({proc.returncode}), see {log}"
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(f"http://127.0.0.1:{port}/health/live")).status_code == 200
            return False

        await eventually(live, timeout=90, interval=0.3, what="the gateway process answering /health/live")
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def kill_9(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    await proc.wait()


async def transfer(
    base_url: str, user: str, mode: str, suffix: str = "", folder: Path | None = None
) -> dict[str, Any] | None:
    """An open transfer of `user` in `mode`, part done: some bytes moved, and (a read, given the
    user's `folder`) fewer than the file has."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        for t in (await client.get("/mailbox/transfers")).json()["transfers"]:
            if t["user"] != user or t["mode"] != mode or not t["path"].endswith(suffix) or not t["bytes"]:
                continue
            if folder is None or t["bytes"] < (folder / t["path"].lstrip("/")).stat().st_size:
                return t
    return None


class DeletionWatch:
    """Looks at `from/` every few milliseconds; a name seen there that is gone must already have
    its received_files row (the listing is taken first, the rows after, so a row missing then
    was missing when the file was already gone). It queries on a connection of its own: an
    asyncpg connection runs one statement at a time, and the test's own checks run meanwhile."""

    def __init__(self, folder: Path, admin: Any, partner_id: str) -> None:
        self.folder, self.admin, self.partner_id = folder, admin, partner_id
        self.seen: set[str] = set()
        self.gone_without_row: list[str] = []
        self.task: asyncio.Task[None] | None = None

    def names(self) -> set[str]:
        return {p.name for p in self.folder.iterdir() if not p.name.startswith(".")}

    async def run(self) -> None:
        while True:
            now = self.names()
            gone = self.seen - now
            if gone:
                rows = await self.admin.fetch(
                    "SELECT DISTINCT remote_name FROM gateway.received_files"
                    " WHERE partner_id = $1 AND remote_name = ANY($2::text[])",
                    self.partner_id,
                    sorted(gone),
                )
                self.gone_without_row += sorted(gone - {r["remote_name"] for r in rows})
            self.seen = now
            await asyncio.sleep(0.01)


def sandbox_files(state: Path) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    """The files the sandbox took (files_in) and the answers it wrote (files_out)."""
    with contextlib.closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        taken = db.execute("SELECT name, icn, state, text FROM files_in").fetchall()
        written = db.execute("SELECT name, kind, written_at FROM files_out").fetchall()
    return taken, written


async def test_sigkill_mid_upload_and_mid_download_loses_nothing_and_doubles_nothing(
    gateway_db: Database, admin: Any, settings: Settings, tmp_path: Path
) -> None:
    state = tmp_path / "sandbox.sqlite3"
    env = {"SANDBOX_STATE_PATH": str(state),
           "SANDBOX_REMITTANCE_MODE": "immediate"}  # fmt: skip
    async with sandbox_process(
        env, mailbox=True, mailbox_dir=tmp_path / "box", sftp_read_delay_ms=150, sftp_write_delay_ms=40
    ) as sandbox:
        assert sandbox.root is not None and sandbox.user is not None
        config = partner_config(
            sandbox,
            isa_receiver_id=TEST_RECEIVER_ID,
            gs_receiver_id=TEST_RECEIVER_ID,
            batch_max_claims=CLAIMS,
            poll_seconds=3600,  # one poll at start: the answers wait in from/ until phase two
        )
        partners_file = tmp_path / "partners.json"
        (partner,) = write_partners(partners_file, config)
        gw_env = {
            "DATABASE_URL": settings.database_url,
            **kafka_env(settings),
            "CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix,
            "GATEWAY_PARTNERS_FILE": str(partners_file),
            "GATEWAY_TICK_SECONDS": "0.2",
            "GATEWAY_PROCESS_SECONDS": "0.2",
            "LOG_LEVEL": "WARNING",
        }
        log = tmp_path / "gateway.log"
        events = [claim_event(next(iter(partner.receiver_ids))) for _ in range(CLAIMS)]
        async with gateway_db.session() as session:
            for event in events:
                assert await record_claim(session, event, [partner]) == "queued"
            await session.commit()
        claim_ids = {str(e.data.claim_id) for e in events}  # type: ignore[attr-defined]
        pcns = {e.data.patient_control_number for e in events}  # type: ignore[attr-defined]

        # 1. Mid-upload: the batcher filed the claims; the uploader is half way through `.part`.
        async with gateway_process(gw_env, log) as proc:
            part = await eventually(
                lambda: transfer(sandbox.base_url, sandbox.user, "write", ".part"),
                timeout=60, interval=0.02, what="a partial .part upload",
            )  # fmt: skip
            await kill_9(proc)
        (half,) = (sandbox.root / "to").iterdir()
        assert half.name.endswith(".part") and 0 < half.stat().st_size, part
        async with gateway_process(gw_env, log) as proc:
            uploaded = await eventually(
                lambda: admin.fetchval(
                    "SELECT count(*) FROM gateway.submission_files"
                    " WHERE partner_id = $1 AND state <> 'built'",
                    partner.id,
                ),
                timeout=120, what="the file uploaded after the restart",
            )  # fmt: skip
            assert uploaded == 1

            def answered() -> bool:
                taken, written = sandbox_files(state)
                kinds = {w["kind"] for w in written if w["written_at"]}
                return bool(taken) and {"999", "277CA", "835"} <= kinds

            taken_and_answered = "the uploaded file taken by the sandbox and answered (999, 277CA, 835)"
            await eventually(answered, timeout=120, what=taken_and_answered)
            await kill_9(proc)  # idle: the answers stay in from/ (poll_seconds=3600 polled at start only)
        waiting = {p.name for p in (sandbox.root / "from").iterdir()}
        assert len(waiting) >= 3, waiting

        # 2. Mid-download: the answers are taken again from the start after a kill in a read.
        write_partners(partners_file, {**config, "poll_seconds": 0.5})
        watch_conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        watch = DeletionWatch(sandbox.root / "from", watch_conn, partner.id)
        watch.seen = waiting
        watch.task = asyncio.create_task(watch.run())
        try:
            async with gateway_process(gw_env, log) as proc:
                reading = await eventually(
                    lambda: transfer(sandbox.base_url, sandbox.user, "read", folder=sandbox.root),
                    timeout=60, interval=0.02, what="a partial read of an answer",
                )  # fmt: skip
                await kill_9(proc)
            assert (sandbox.root / "from" / reading["path"].rsplit("/", 1)[-1]).exists(), "not taken yet"
            async with gateway_process(gw_env, log):
                await eventually(
                    lambda: admin.fetchval(
                        "SELECT count(*) = $2 FROM gateway.received_files WHERE partner_id = $1"
                        " AND state IN ('processed', 'review')",
                        partner.id,
                        len(waiting),
                    ),
                    timeout=180, what="every answer taken and processed",
                )  # fmt: skip
                await eventually(lambda: not any(watch.names()), timeout=30, what="from/ emptied")
        finally:
            watch.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch.task
            await watch_conn.close()

    await assert_nothing_lost_nothing_doubled(admin, partner.id, state, waiting, claim_ids, pcns, watch)


async def assert_nothing_lost_nothing_doubled(
    admin: Any,
    partner_id: str,
    state: Path,
    waiting: set[str],
    claim_ids: set[str],
    pcns: set[str],
    watch: DeletionWatch,
) -> None:
    # Each remote file: exactly one received_files row, processed (none twice, none lost).
    rows = await admin.fetch(
        "SELECT remote_name, state, kind FROM gateway.received_files WHERE partner_id = $1", partner_id
    )
    assert sorted(r["remote_name"] for r in rows) == sorted(waiting), "one row per remote file"
    assert {r["state"] for r in rows} == {"processed"}, [dict(r) for r in rows]
    # Each claim's acknowledgment staged once.
    acks = await admin.fetch(
        "SELECT event_key FROM gateway.outbox WHERE event_type = 'claim.acknowledged.v1'"
        " AND event_key = ANY($1::text[])",
        sorted(claim_ids),
    )
    assert sorted(a["event_key"] for a in acks) == sorted(claim_ids), "one claim.acknowledged per claim"
    # Each patient control number in exactly one file the sandbox took.
    taken, written = sandbox_files(state)
    in_files = [
        seg[1]
        for f in taken
        for tx in x12.parse(f["text"]).transactions
        for seg in tx.segments
        if seg.id == "CLM"
    ]
    assert sorted(in_files) == sorted(pcns), "each PCN in exactly one file the clearinghouse took"
    # The interchange (one ISA13) answered by one 999, taken once.
    (icn,) = {f["icn"] for f in taken}
    ours = await admin.fetchval(
        "SELECT interchange_control_number FROM gateway.submission_files WHERE partner_id = $1", partner_id
    )
    assert int(icn) == int(ours)
    assert [r["kind"] for r in rows].count("999") == 1 and [w["kind"] for w in written].count("999") == 1
    # No remote file gone before its row existed.
    assert watch.gone_without_row == [], "remote files deleted before their received_files row"
