"""Taking a partner's files exactly once: list the "from" folder, download what is new, keep
it (inbound.usecases.keep) and record the remote name in ONE commit, and only then delete or
move the remote file. A crash mid-download commits nothing (the file is taken next poll); a
crash after the commit, before the delete, leaves a name the next poll only deletes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.gateway.inbound.usecases import keep
from services.gateway.mailbox import domain, store
from services.gateway.partners.domain import TradingPartner
from services.gateway.partners.usecases import SecretMissing, credentials
from shared import sftp
from shared.db import Database

log = logging.getLogger(__name__)

# A test's look at a poll between its steps ("read": downloaded, nothing committed;
# "committed": kept, the remote file not touched yet), as a crash would see it.
Checkpoint = Callable[[str, str], Awaitable[None]]


@dataclass
class Polled:
    """What one poll did (counts only: names can be a partner's, never PHI, but stay out)."""

    locked: bool = True
    taken: int = 0
    disposed: int = 0
    skipped: int = 0
    error: str | None = None
    file_ids: list[object] = field(default_factory=list)


async def poll(
    db: Database,
    partner: TradingPartner,
    *,
    max_file_bytes: int,
    timeout_seconds: float = 30.0,
    checkpoint: Checkpoint | None = None,
) -> Polled:
    """One poll of the partner's mailbox, under its advisory lock (another replica polling it
    now: nothing is done). Records the outcome in partner_state."""
    conn = await db.connect_raw()
    try:
        if not await store.try_poll_lock(conn, partner.id):
            return Polled(locked=False)
        try:
            result = await _poll_locked(db, partner, max_file_bytes, timeout_seconds, checkpoint)
        finally:
            await store.release_poll_lock(conn, partner.id)
    finally:
        await conn.close()
    async with db.session() as session:
        await store.record_poll(session, partner.id, datetime.now(UTC), result.error)
        await session.commit()
    return result


async def _poll_locked(
    db: Database,
    partner: TradingPartner,
    max_file_bytes: int,
    timeout_seconds: float,
    checkpoint: Checkpoint | None,
) -> Polled:
    result = Polled()
    try:
        async with sftp.connect(partner, credentials(partner), timeout_seconds=timeout_seconds) as box:
            listing = await box.list(partner.from_folder)
            async with db.session() as session:
                known = await store.entries(session, partner.id)
            now_epoch = datetime.now(UTC).timestamp()
            for entry in listing:
                path = f"{partner.from_folder}/{entry.name}"
                seen = known.get(entry.name)
                if domain.to_dispose(partner, entry, seen):
                    await _dispose(db, box, partner, path, entry.name)
                    result.disposed += 1
                    continue
                if not domain.to_take(partner, entry, seen, now_epoch):
                    result.skipped += 1
                    continue
                data = await box.read(path, max_bytes=max_file_bytes)
                if checkpoint is not None:
                    await checkpoint("read", entry.name)
                async with db.session() as session:
                    kept = await keep(
                        session,
                        partner_id=partner.id,
                        source="mailbox",
                        remote_name=entry.name,
                        content=data,
                        actor=f"mailbox:{partner.id}",
                    )
                    now = datetime.now(UTC)
                    await store.record_taken(
                        session, partner.id, entry.name, entry.size, entry.mtime, kept.file_id, now
                    )
                    await session.commit()
                result.taken += 1
                result.file_ids.append(kept.file_id)
                if checkpoint is not None:
                    await checkpoint("committed", entry.name)
                if partner.after_download != "leave":
                    await _dispose(db, box, partner, path, entry.name)
                    result.disposed += 1
    except sftp.SftpError as error:
        result.error = error.kind
        log.warning("partner %s: mailbox poll failed (%s, %s)", partner.id, error.operation, error.kind)
    except SecretMissing as error:
        result.error = "secret_missing"
        log.warning("%s", error)
    return result


async def _dispose(db: Database, box: sftp.Mailbox, partner: TradingPartner, path: str, name: str) -> None:
    """Delete or move a remote file that is committed, then record it."""
    if partner.after_download == "move":
        assert partner.archive_folder is not None
        await box.move(path, partner.archive_folder)
    else:
        await box.remove(path)
    async with db.session() as session:
        await store.record_disposed(session, partner.id, name, datetime.now(UTC))
        await session.commit()
