"""Metadata of the dunning sequences and their steps (migration 0009)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, MetaData, Table, Text, Uuid

metadata = MetaData()

dunning_sequences = Table(
    "dunning_sequences",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("started_on", Date, nullable=False),
    Column("closed_on", Date),
    Column("closed_reason", Text),  # paid | referred
    Column("created_at", DateTime(timezone=True), nullable=False),
)

dunning_steps = Table(
    "dunning_steps",
    metadata,
    Column("sequence_id", Uuid, ForeignKey("dunning_sequences.id"), primary_key=True),
    Column("step", Integer, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # statement | final_notice | collections
    Column("reason", Text),  # final notice and collections: why the account is there
    Column("step_date", Date, nullable=False),
    Column("statement_id", Uuid),
    Column("plan_id", Uuid),
    Column("notice_id", Uuid),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
