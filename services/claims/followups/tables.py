"""Metadata of the follow-up's own table (schema `claims`, migration 0013): `status_answers`,
every answer a payer or clearinghouse gave about a claim (277 X212, 277CA, 999, TA1), one row
per answer and claim, append-only. Migrations own the DDL; shared.bulk inserts with this."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, MetaData, Numeric, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

status_answers = Table(
    "status_answers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("claim_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),  # UNIQUE with claim_id: an event counts once
    Column("source", Text, nullable=False),  # 277CA | 277 | 999 | TA1
    Column("category_code", Text, nullable=False),  # STC01-1, or the ack's code (A/E/R…)
    Column("status_code", Text),
    Column("entity_code", Text),
    Column("description", Text, nullable=False),
    Column("effective_date", Date),
    Column("payer_claim_control_number", Text),
    Column("total_charge", Numeric(14, 2)),
    Column("paid_amount", Numeric(14, 2)),
    Column("codes", JSONB, nullable=False),  # every composite with its descriptions
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
