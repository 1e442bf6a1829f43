"""Metadata of the table the registry copy owns (migration 0007 is the authoritative DDL)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, Table, Text

metadata = MetaData()

# One row per patient. The two halves move independently: each keeps the highest revision of
# its own event (patient.updated / coverage.updated); the PHI is sealed (checks.domain.Vault).
registry_copies = Table(
    "registry_copies",
    metadata,
    Column("patient_id", Text, primary_key=True),
    Column("patient_revision", Integer, nullable=False),
    Column("patient_enc", LargeBinary),
    Column("coverage_revision", Integer, nullable=False),
    Column("coverages_enc", LargeBinary),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
