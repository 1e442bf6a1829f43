"""Metadata of the table batches own (migration 0002 is the authoritative DDL); the checks of
a batch are rows of `checks` (checks.tables) with its id."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, Uuid

metadata = MetaData()

batches = Table(
    "batches",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("requested_by", Text, nullable=False),
    Column("total", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
