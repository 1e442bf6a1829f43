"""Metadata of payments' copies of the parties: to each encounter (migration 0009), and the
registry's, one per account at its highest revision (0017)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

encounter_parties = Table(
    "encounter_parties",
    metadata,
    Column("encounter_id", Text, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("patient", JSONB, nullable=False),  # {name, address, phone}
    Column("guarantor", JSONB, nullable=False),  # the same, of who owes the patient's share
    Column("relationship", Text, nullable=False),  # the guarantor to the patient: self, spouse, ...
    Column("received_at", DateTime(timezone=True), nullable=False),
)

registry_parties = Table(
    "registry_parties",
    metadata,
    Column("account_id", Text, primary_key=True),
    Column("revision", Integer, nullable=False),  # the registry's, per patient; the highest is kept
    Column("patient", JSONB, nullable=False),
    Column("guarantor", JSONB, nullable=False),
    Column("relationship", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
