"""Metadata of the claim-status tables (schema `gateway`, migration 0005).

- `status_inquiries`: every 276 we meant to send about a claim (one per claim and due
  moment, so a redelivered `claim.followup_due` asks once), where it stands (pending, sent,
  answered, failed, skipped with the reason), its trace number (2200D/E TRN02, echoed by the
  payer's 277) and the received file its answer came in.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

status_inquiries = Table(
    "status_inquiries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("claim_id", Uuid, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("patient_control_number", Text),
    Column("payer_id", Text),
    Column("partner_id", Text),
    Column("trace_number", Text, nullable=False),
    Column("mode", Text),  # realtime | batch
    Column("state", Text, nullable=False, server_default="pending"),
    Column("reason", Text),  # why skipped or failed, never data
    Column("requested_by", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", DateTime(timezone=True)),  # the sender's lease, or the next try
    Column("x12_276", Text),  # PHI: only behind gateway:x12
    Column("file_id", Uuid),  # batch: the 276 submission file it went out in
    Column("answer_file_id", Uuid),
    Column("answer", JSONB, nullable=False, server_default="[]"),  # codes only
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("answered_at", DateTime(timezone=True)),
)
