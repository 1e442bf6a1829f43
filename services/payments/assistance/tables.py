"""Metadata of the tables the assistance sub-domain owns (migration 0017), both append-only."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Numeric, Table, Text, Uuid

metadata = MetaData()

assistance_adjustments = Table(
    "assistance_adjustments",
    metadata,
    Column("application_id", Uuid, primary_key=True),  # once per application
    Column("account_id", Text, nullable=False),
    Column("tier", Text, nullable=False),
    Column("discount_percent", Numeric(5, 2), nullable=False),
    Column("poverty_percent", Numeric(7, 2), nullable=False),
    Column("guidelines_year", Integer, nullable=False),
    Column("base", Numeric(14, 2), nullable=False),  # the patient balance the discount applied to
    Column("amount", Numeric(14, 2), nullable=False),  # the discount written (0.00: nothing owed)
    Column("decided_by", Text, nullable=False),
    Column("approved_by", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
)

financing_referrals = Table(
    "financing_referrals",
    metadata,
    Column("referral_id", Uuid, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("partner_id", Text, nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("referred_by", Text, nullable=False),
    Column("referred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
