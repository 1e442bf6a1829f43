"""Metadata of the fee schedule tables (schema `payments`, migrations 0003 and 0007): one row
per upload of a payer's schedule (a version: numbered per payer, effective from its date; none
is ever replaced) and its entries."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, MetaData, Numeric, Table, Text, Uuid

metadata = MetaData()

fee_schedules = Table(
    "fee_schedules",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("payer_id", Text, nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per payer, in upload order
    Column("effective_date", Date, nullable=False),
    Column("loaded_by", Text, nullable=False),  # the API's uploaded_by
    Column("loaded_at", DateTime(timezone=True), nullable=False),  # the API's uploaded_at
)

fee_schedule_entries = Table(
    "fee_schedule_entries",
    metadata,
    Column("fee_schedule_id", Uuid, ForeignKey("fee_schedules.id"), primary_key=True),
    Column("code", Text, primary_key=True),
    Column("modifier", Text, primary_key=True, server_default=""),
    Column("allowed", Numeric(14, 2), nullable=False),
)
