"""Metadata of the table the account holds sub-domain owns (migration 0017)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, MetaData, Table, Text, Uuid

metadata = MetaData()

account_holds = Table(
    "account_holds",
    metadata,
    Column("id", Uuid, primary_key=True),  # the front office's hold id
    Column("account_id", Text, nullable=False),
    Column("reason", Text, nullable=False),  # dispute | financial_assistance | financing
    Column("source_id", Uuid, nullable=False),  # the ticket, application or financing referral
    Column("holds_statements", Boolean, nullable=False),
    Column("holds_collections", Boolean, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
    Column("outcome", Text),  # the release's resolution code or decision
)
