"""Metadata of the inbound tables (schema `gateway`, migration 0002).

- `received_files`: every file that came in (polled from a mailbox, uploaded by hand, or a
  real-time answer), kept exactly as received before anything acts on it; a trigger forbids
  deleting it or changing its content. One row per (partner, remote name, content hash), so a
  file polled twice is taken once.
- `review_queue`: files nobody could act on (unknown type, unreadable, an acknowledgment of
  nothing we sent), with the reason, until someone reprocesses or dismisses them.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

received_files = Table(
    "received_files",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("partner_id", Text),  # NULL for a manual upload naming no partner
    Column("source", Text, nullable=False),  # mailbox | upload | realtime
    Column("remote_name", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("content", Text, nullable=False),  # PHI: only behind gateway:x12
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("kind", Text),  # TA1 | 999 | 277CA | 277 | 835 | 271 | unknown, once identified
    # received | processed | review | duplicate
    Column("state", Text, nullable=False, server_default="received"),
    Column("processed_at", DateTime(timezone=True)),
    Column("retry_at", DateTime(timezone=True)),  # the processing worker's lease
    Column("errors", JSONB, nullable=False, server_default="[]"),  # located, never the data
    Column("counts", JSONB, nullable=False, server_default="{}"),
)

review_queue = Table(
    "review_queue",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("file_id", Uuid, ForeignKey("received_files.id"), nullable=False),
    # unknown_type | unreadable | envelope | unmatched_ack | unsupported | not_ours | too_large
    Column("reason", Text, nullable=False),
    Column("detail", JSONB, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolution", Text),  # reprocessed | dismissed
    Column("resolved_by", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Column("note", Text),
)
