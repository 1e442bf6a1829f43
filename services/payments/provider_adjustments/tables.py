"""Metadata of the tables provider-level adjustments own (schema `payments`, migrations 0003
and 0007): each PLB adjustment of a remittance with the claim it names and what the posting
did with it, and the forward balances carried from one remittance to later ones.
`remittance_id` refers to `remittances.tables.remittances` (another MetaData)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, MetaData, Numeric, Table, Text, Uuid

metadata = MetaData()

provider_adjustments = Table(
    "provider_adjustments",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("remittance_id", Uuid, nullable=False),
    Column("provider_id", Text, nullable=False),
    Column("fiscal_period_date", Date),
    Column("reason_code", Text, nullable=False),  # PLB03-1
    Column("reference", Text, nullable=False),  # PLB03-2
    Column("amount", Numeric(14, 2), nullable=False),  # PLB04: positive reduced the payment
    Column("claim_id", Uuid),  # the claim PLB03-2 names, when we know it
    Column("account_id", Text),
    Column("effect", Text, nullable=False, server_default="provider"),
    Column("forward_balance_id", Uuid),  # the forward balance it opened or recovered
)

forward_balances = Table(
    "forward_balances",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("payer_id", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("claim_id", Uuid),
    Column("account_id", Text),
    Column("opened_amount", Numeric(14, 2), nullable=False),  # PLB04 of the FB that opened it
    Column("open_amount", Numeric(14, 2), nullable=False),  # Σ PLB04 of its adjustments; 0 = recovered
    Column("opened_by_remittance_id", Uuid, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("recovered_by_remittance_id", Uuid),
    Column("recovered_at", DateTime(timezone=True)),
)
