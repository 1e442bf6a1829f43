"""Metadata of the contract tables (schema `payments`, migration 0003): fee schedules (the
newest effective one per payer applies), their entries, and the lines found paid below
them. `underpayments.posting_id` refers to `postings.tables.claim_postings`."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, MetaData, Numeric, Table, Text, Uuid

metadata = MetaData()

fee_schedules = Table(
    "fee_schedules",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("payer_id", Text, nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("loaded_by", Text, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

fee_schedule_entries = Table(
    "fee_schedule_entries",
    metadata,
    Column("fee_schedule_id", Uuid, ForeignKey("fee_schedules.id"), primary_key=True),
    Column("code", Text, primary_key=True),
    Column("modifier", Text, primary_key=True, server_default=""),
    Column("allowed", Numeric(14, 2), nullable=False),
)

underpayments = Table(
    "underpayments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("posting_id", Uuid, nullable=False),
    Column("claim_id", Uuid, nullable=False),
    Column("payer_id", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("modifier", Text, nullable=False),
    Column("units", Numeric(10, 2), nullable=False),
    Column("expected_allowed", Numeric(14, 2), nullable=False),
    Column("actual_allowed", Numeric(14, 2), nullable=False),
    Column("variance", Numeric(14, 2), nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
)
