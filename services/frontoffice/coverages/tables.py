"""Metadata of the coverage table (schema `frontoffice`, migration 0002_patients): each
coverage a patient holds, its coordination-of-benefits order and its dates. Its changes are
kept in `patients.tables.patient_history` with the patient's."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

coverages = Table(
    "coverages",
    metadata,
    Column("coverage_id", Uuid, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("coverage_order", Text, nullable=False),  # primary | secondary | tertiary
    Column("payer_id", Text, nullable=False),
    Column("plan", Text),
    Column("member_id", Text, nullable=False),
    Column("group_number", Text),
    Column("relationship_code", Text, nullable=False),
    Column("subscriber", JSONB),
    Column("effective_date", Date, nullable=False),
    Column("termination_date", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
