"""What happens to a file that comes in: it is kept first, exactly as received, and only then
acted on (the processing worker takes `received` rows; duplicates are kept but never acted on).
The mailbox poller, the manual upload route and the real-time claim-status call all come in
through `keep`, so there is one way a file enters the platform."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.inbound import store


@dataclass(frozen=True)
class Kept:
    """A received file on record: `new` is False when this name and content were kept before
    (a poll after a crash, an upload repeated), `state` `duplicate` when only the content was."""

    file_id: uuid.UUID
    state: str
    new: bool


def digest(content: bytes) -> str:
    """The content hash files are known by (SHA-256, hex)."""
    return hashlib.sha256(content).hexdigest()


async def keep(
    session: AsyncSession,
    *,
    partner_id: str | None,
    source: str,
    remote_name: str,
    content: bytes,
    actor: str,
    received_at: datetime | None = None,
) -> Kept:
    """Record a file as received, in the caller's transaction (the caller commits before it
    touches the remote file). X12 is ASCII-based; bytes that are not UTF-8 are kept readable
    with replacement characters, and the hash is of the bytes as received."""
    file_id, state, new = await store.keep_file(
        session,
        {
            "id": uuid.uuid4(),
            "partner_id": partner_id,
            "source": source,
            "remote_name": remote_name,
            "sha256": digest(content),
            "content": content.decode("utf-8", errors="replace"),
            "received_at": received_at or datetime.now(UTC),
            "actor": actor,
        },
    )
    return Kept(file_id, state, new)
