"""Metadata of payments' copy of the parties to each encounter (migration 0009)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, MetaData, Table, Text
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
