"""Pure mailbox rules: which remote names a poll takes, and which it only disposes of."""

from __future__ import annotations

from typing import Any

from services.gateway.partners.domain import TradingPartner
from shared.sftp import Entry


def to_take(partner: TradingPartner, entry: Entry, known: Any, now_epoch: float) -> bool:
    """A name is taken when it is not an upload in progress (temp suffix), has been still for
    `settle_seconds`, and was not taken before with the same size and mtime (a file replaced
    under the same name is new)."""
    if entry.name.endswith(partner.temp_suffix):
        return False
    if partner.settle_seconds and now_epoch - entry.mtime < partner.settle_seconds:
        return False
    return not taken(entry, known)


def taken(entry: Entry, known: Any) -> bool:
    return (
        known is not None
        and known.file_id is not None
        and known.size == entry.size
        and known.mtime == entry.mtime
    )


def to_dispose(partner: TradingPartner, entry: Entry, known: Any) -> bool:
    """Taken (committed) but still there: only the delete or move is left to do."""
    return partner.after_download != "leave" and taken(entry, known) and known.disposed_at is None
