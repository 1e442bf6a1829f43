"""Metadata of the registry's patient tables (schema `frontoffice`, migration 0002_patients).

- `patients`: demographics and guarantor as typed (jsonb, PHI), name and birth date as columns
  for search, `revision`: the per-patient counter patient.updated and coverage.updated share.
- `patient_history`: every change to a patient or one of its coverages, append-only.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

patients = Table(
    "patients",
    metadata,
    Column("patient_id", Text, primary_key=True),
    Column("id", Uuid, nullable=False, unique=True),  # the list's paging key
    Column("revision", Integer, nullable=False),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("demographics", JSONB, nullable=False),
    Column("guarantor", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

patient_history = Table(
    "patient_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("patient_id", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("entity", Text, nullable=False),  # patient | coverage
    Column("coverage_id", Uuid),
    Column("kind", Text, nullable=False),  # registered | updated | a CoverageChange kind
    Column("reason", Text, nullable=False),
    Column("note", Text),
    Column("fields", JSONB, nullable=False),  # a list of names (insert_many takes no array columns)
    Column("before", JSONB),
    Column("after", JSONB),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)
