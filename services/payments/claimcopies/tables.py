"""Metadata of payments' copy of each submitted claim (schema `payments`, migration 0003):
what `claim.submitted` said, so an 835's patient control number finds its claim, account
and payer."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, MetaData, Numeric, Table, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

claim_copies = Table(
    "claim_copies",
    metadata,
    Column("claim_id", Uuid, primary_key=True),
    Column("patient_control_number", Text, nullable=False),
    Column("patient_id", Text, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("payer_id", Text, nullable=False),
    Column("coverage_order", Text, nullable=False),
    Column("frequency_code", Text, nullable=False),
    Column("total_charge", Numeric(14, 2), nullable=False),
    Column("date_of_service", Date),
    Column("lines", JSONB, nullable=False, server_default="[]"),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
    Column("claim_type", Text, nullable=False, server_default="professional"),  # migration 0018
)
