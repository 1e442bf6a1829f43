"""Metadata of the table the possible-duplicate queue owns (schema `payments`, migration 0012).
`remittance_id`, `original_posting_id`, `unmatched_id` and `credit_balance_id` refer to
other sub-domains' tables (not declared here: another MetaData)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, Numeric, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

possible_duplicates = Table(
    "possible_duplicates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("remittance_id", Uuid, nullable=False),  # the remittance that paid it again
    Column("payer_id", Text, nullable=False),
    Column("patient_control_number", Text, nullable=False),
    Column("payer_claim_control_number", Text, nullable=False),  # CLP07; '' when absent
    Column("status_code", Text, nullable=False),
    Column("charge", Numeric(14, 2), nullable=False),
    Column("paid", Numeric(14, 2), nullable=False),
    Column("patient_responsibility", Numeric(14, 2), nullable=False),
    Column("claim", JSONB, nullable=False),  # the whole 835 claim, to post it after all
    Column("original_posting_id", Uuid, nullable=False),  # the live posting of the adjudication
    Column("claim_id", Uuid, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("unmatched_id", Uuid),  # when it waited in the unmatched queue first
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("resolution_reason", Text),
    Column("resolved_by", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_posting_id", Uuid),
    Column("credit_balance_id", Uuid),  # provider_adjustments.tables.forward_balances
    Column("refund_reference", Text),
    Column("refund_reason", Text),
    Column("refunded_by", Text),
    Column("refunded_at", DateTime(timezone=True)),
)
