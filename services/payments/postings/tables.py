"""Metadata of the tables the posting owns (schema `payments`, migration 0003): one
append-only row per claim posted from an 835 (reversals point at what they reverse), and
the remittance claims parked until a claim is found for them. `remittance_id` refers to
`remittances.tables.remittances` (not declared here: another MetaData)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, Numeric, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

claim_postings = Table(
    "claim_postings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("remittance_id", Uuid, nullable=False),
    Column("claim_id", Uuid, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("payer_id", Text, nullable=False),
    Column("patient_control_number", Text, nullable=False),
    Column("payer_claim_control_number", Text),
    Column("status_code", Text, nullable=False),
    Column("charge", Numeric(14, 2), nullable=False),
    Column("paid", Numeric(14, 2), nullable=False),
    Column("allowed", Numeric(14, 2), nullable=False),
    Column("patient_responsibility", Numeric(14, 2), nullable=False),
    Column("adjustments", JSONB, nullable=False),
    Column("remark_codes", JSONB, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("reverses_posting_id", Uuid, ForeignKey("claim_postings.id"), unique=True),
    Column("matched_by", Text, nullable=False),
    Column("clp_position", Integer, nullable=False),  # segment position of the CLP in its file
    Column("posted_at", DateTime(timezone=True), nullable=False),
    # Migration 0018: institutional claims (835 CLP08, CLP09, CLP11, CLP12, MIA, MOA).
    Column("claim_type", Text, nullable=False, server_default="professional"),
    Column("facility_type_code", Text),
    Column("frequency_code", Text),
    Column("drg_code", Text),
    Column("drg_weight", Numeric(12, 4)),
    Column("inpatient", JSONB),
    Column("outpatient", JSONB),
)

unmatched_claims = Table(
    "unmatched_claims",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("remittance_id", Uuid, nullable=False),
    Column("patient_control_number", Text, nullable=False),
    Column("payer_claim_control_number", Text),
    Column("status_code", Text, nullable=False),
    Column("charge", Numeric(14, 2), nullable=False),
    Column("paid", Numeric(14, 2), nullable=False),
    Column("patient_responsibility", Numeric(14, 2), nullable=False),
    Column("reason", Text, nullable=False),
    Column("claim", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_posting_id", Uuid, ForeignKey("claim_postings.id")),
    Column("resolved_by", Text),
    Column("resolved_at", DateTime(timezone=True)),
)
