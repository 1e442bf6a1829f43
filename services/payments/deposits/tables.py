"""Metadata of the tables bank deposits own (schema `payments`, migration 0010): each bank
file as received, and the deposits read from it."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, MetaData, Numeric, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

bank_deposit_files = Table(
    "bank_deposit_files",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("sha256", Text, nullable=False, unique=True),
    Column("format", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("errors", JSONB, nullable=False, server_default="[]"),
    Column("deposit_count", Integer),
    Column("repeated_count", Integer),
    Column("received_by", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("imported_at", DateTime(timezone=True)),
)

bank_deposits = Table(
    "bank_deposits",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("file_id", Uuid, ForeignKey("bank_deposit_files.id"), nullable=False),
    Column("record", Integer, nullable=False),
    Column("bank_date", Date, nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("kind", Text, nullable=False),
    Column("type_code", Text, nullable=False),
    Column("account_number", Text),
    Column("trace_number", Text),
    Column("trace_originator", Text),
    Column("check_number", Text),
    Column("batch_id", Text),
    Column("bank_reference", Text),
    Column("customer_reference", Text),
    Column("description", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
