"""Metadata of the tables checks own (migrations 0002 and 0003 are the authoritative DDL): `checks`, one row
per coverage check, and `raw_x12`, the encrypted interchanges kept apart so that reading a
check never loads them. `shared.bulk.insert_many` reads column types from here."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, LargeBinary, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

checks = Table(
    "checks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("payer_id", Text, nullable=False),
    Column("provider_npi", Text, nullable=False),
    Column("service_type_codes", JSONB, nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("member_hint", Text, nullable=False),
    Column("cache_key", Text, nullable=False),
    Column("request_enc", LargeBinary),  # the request's PHI, sealed (checks.domain.Vault)
    Column("batch_id", Uuid),
    Column("state", Text, nullable=False),
    Column("status", Text),
    Column("result", JSONB),
    Column("demographics_enc", LargeBinary),  # the 271's people (demographics.domain), sealed
    Column("error", JSONB),
    Column("cached_from", Uuid),
    Column("attempts", Integer, nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("requested_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)

raw_x12 = Table(
    "raw_x12",
    metadata,
    Column("check_id", Uuid, primary_key=True),
    Column("x12_270", LargeBinary, nullable=False),
    Column("x12_271", LargeBinary),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
