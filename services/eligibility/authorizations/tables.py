"""Metadata of the tables authorizations own (migration 0002 is the authoritative DDL)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

authorizations = Table(
    "authorizations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("payer_id", Text, nullable=False),
    Column("number", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("service_codes", JSONB, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("visits_allowed", Integer),
    Column("visits_used", Integer, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# authorization.expiring goes out once per authorization and threshold ('days'/'visits').
authorization_alerts = Table(
    "authorization_alerts",
    metadata,
    Column("authorization_id", Uuid, primary_key=True),
    Column("threshold", Text, primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)
