"""Metadata of the mailbox tables (schema `gateway`, migration 0003).

- `mailbox_entries`: each remote file seen in a partner's "from" folder, the received file it
  was taken into (`file_id`, set in the commit that keeps the file) and when it was deleted or
  moved (`disposed_at`, only after that commit).
- `control_numbers`: the last ISA13 and GS06 given out per partner (row-locked increments).
- `partner_state`: each partner's last poll, its last error kind, its last upload.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Float, ForeignKey, MetaData, Table, Text, Uuid

metadata = MetaData()

mailbox_entries = Table(
    "mailbox_entries",
    metadata,
    Column("partner_id", Text, primary_key=True),
    Column("remote_name", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mtime", Float, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("file_id", Uuid, ForeignKey("received_files.id")),
    Column("disposed_at", DateTime(timezone=True)),
)

control_numbers = Table(
    "control_numbers",
    metadata,
    Column("partner_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True),  # isa | gs
    Column("last_value", BigInteger, nullable=False),
)

partner_state = Table(
    "partner_state",
    metadata,
    Column("partner_id", Text, primary_key=True),
    Column("last_poll_at", DateTime(timezone=True)),
    Column("last_poll_ok_at", DateTime(timezone=True)),
    Column("last_poll_error", Text),  # an SftpError kind, never a message with data
    Column("last_error_at", DateTime(timezone=True)),
    Column("last_upload_at", DateTime(timezone=True)),
)
