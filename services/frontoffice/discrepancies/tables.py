"""Metadata of the discrepancy table (schema `frontoffice`, migration 0002_patients): what a
payer's 271 said differently from the registry (one row per eligibility check), and how staff
decided it (accepted: which fields were applied in which revision; rejected: why)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

discrepancies = Table(
    "discrepancies",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("check_id", Uuid, nullable=False, unique=True),
    Column("patient_id", Text, nullable=False),
    Column("payer_id", Text, nullable=False),
    Column("registry_revision", Integer, nullable=False),
    Column("fields", JSONB, nullable=False),  # DiscrepancyField dumps (PHI)
    Column("status", Text, nullable=False),  # open | accepted | rejected
    Column("found_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("note", Text),
    Column("outcome", JSONB),  # per field: applied | already_applied | superseded | not_applicable
    Column("applied_revision", Integer),
)
