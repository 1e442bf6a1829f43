"""Metadata of the outbound tables (schema `gateway`, migration 0002).

- `outbound_claims`: each `claim.submitted` the gateway will file (one row per event), and the
  file and transaction set (ST02) it went out in. A claim joins a file in the same commit that
  records the file, and only when it has none yet: no claim is ever in two files.
- `submission_files`: every interchange we built, with its control numbers (unique per
  partner) and where its upload and acknowledgments stand.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, Table, Text, Uuid

metadata = MetaData()

submission_files = Table(
    "submission_files",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("partner_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # 837 | 276
    Column("file_name", Text, nullable=False),
    Column("interchange_control_number", Text, nullable=False),  # ISA13, 9 digits
    Column("group_control_number", Text, nullable=False),  # GS06
    Column("usage", Text, nullable=False),  # ISA15 T | P
    Column("sha256", Text, nullable=False),
    Column("x12", Text, nullable=False),  # PHI: only behind gateway:x12
    Column("claim_count", Integer, nullable=False),
    Column("state", Text, nullable=False),  # built | uploaded | acknowledged | rejected
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("upload_attempts", Integer, nullable=False, server_default="0"),
    Column("upload_at", DateTime(timezone=True)),  # the uploader's lease / next try
    Column("last_error", Text),
    Column("uploaded_at", DateTime(timezone=True)),
    Column("ta1_code", Text),  # TA104
    Column("ta1_note", Text),  # TA105
    Column("ack_code", Text),  # AK901
    Column("acknowledged_at", DateTime(timezone=True)),
)

outbound_claims = Table(
    "outbound_claims",
    metadata,
    Column("event_id", Uuid, primary_key=True),  # the claim.submitted event's id
    Column("claim_id", Uuid, nullable=False),
    Column("patient_control_number", Text, nullable=False),  # CLM01
    Column("payer_id", Text, nullable=False),
    Column("partner_id", Text),  # NULL: no trading partner takes its receiver id (ignored)
    Column("frequency_code", Text, nullable=False),
    Column("x12_837", Text, nullable=False),  # PHI: only behind gateway:x12
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False),  # queued | filed | ignored
    Column("file_id", Uuid, ForeignKey("submission_files.id")),
    Column("set_control_number", Text),  # ST02 in that file (unique in the file)
    Column("group_control_number", Text),  # GS06 of its functional group (migration 0006)
    Column("ack_state", Text, nullable=False, server_default="pending"),  # pending | accepted | rejected
    Column("ack_source", Text),  # TA1 | 999 | 277CA
    Column("payer_claim_control_number", Text),  # 277CA REF*1K
)
