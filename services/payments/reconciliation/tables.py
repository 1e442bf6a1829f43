"""Metadata of the table reconciliation owns (schema `payments`, migration 0010): what each
bank deposit was matched to. A match ends (ended_at, by whom, why) instead of being deleted;
at most one current match per deposit, per remittance and per card batch."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, Numeric, Table, Text, Uuid

metadata = MetaData()

deposit_matches = Table(
    "deposit_matches",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("deposit_id", Uuid, nullable=False),
    Column("remittance_id", Uuid),
    Column("card_batch", Text),
    Column("rule", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("deposit_amount", Numeric(14, 2), nullable=False),
    Column("expected_amount", Numeric(14, 2), nullable=False),
    Column("reason", Text),
    Column("matched_by", Text, nullable=False),
    Column("matched_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("ended_by", Text),
    Column("end_reason", Text),
)
