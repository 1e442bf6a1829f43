"""Metadata of the tables authorizations own (migrations 0002 and 0003 are the authoritative DDL)."""

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
    Column("service_type_codes", JSONB, nullable=False),
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

# The visits claims billed: one per first claim of a chain (a claim and its corrections),
# authorization and date of service; claim.submitted keeps it, visits_used counts it.
authorization_visits = Table(
    "authorization_visits",
    metadata,
    Column("claim_id", Uuid, primary_key=True),
    Column("authorization_id", Uuid, primary_key=True),
    Column("date_of_service", Date, primary_key=True),
    Column("counted_at", DateTime(timezone=True), nullable=False),
)
