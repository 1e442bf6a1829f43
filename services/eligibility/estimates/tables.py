"""Metadata of the table estimates own (migration 0002 is the authoritative DDL): our copy of
the payers' fee schedules, one row per code, modifier and effective date."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, MetaData, Numeric, Table, Text, Uuid

metadata = MetaData()

fee_schedule_entries = Table(
    "fee_schedule_entries",
    metadata,
    Column("payer_id", Text, primary_key=True),
    Column("code", Text, primary_key=True),
    Column("modifier", Text, primary_key=True),
    Column("effective_date", Date, primary_key=True),
    Column("allowed", Numeric(14, 2), nullable=False),
    Column("fee_schedule_id", Uuid, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
