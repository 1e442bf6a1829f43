"""Metadata of the underpayment tables (schema `payments`, migrations 0003 and 0007): the
lines found paid below contract, with their status and what each step said, and the
append-only history of their transitions. `posting_id` refers to
`postings.tables.claim_postings`, `fee_schedule_id` to `contracts.tables.fee_schedules`."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, MetaData, Numeric, Table, Text, Uuid

metadata = MetaData()

underpayments = Table(
    "underpayments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("posting_id", Uuid, nullable=False),
    Column("claim_id", Uuid, nullable=False),
    Column("payer_id", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("modifier", Text, nullable=False),
    Column("units", Numeric(10, 2), nullable=False),
    Column("expected_allowed", Numeric(14, 2), nullable=False),
    Column("actual_allowed", Numeric(14, 2), nullable=False),
    Column("variance", Numeric(14, 2), nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("fee_schedule_id", Uuid),  # the version the line was compared with
    Column("service_date", Date),  # the date of service that chose it
    Column("dispute_note", Text),
    Column("dispute_reference", Text),
    Column("recovered_amount", Numeric(14, 2)),
    Column("accepted_amount", Numeric(14, 2)),
    Column("accepted_reason", Text),
    Column("updated_at", DateTime(timezone=True)),
)

underpayment_transitions = Table(
    "underpayment_transitions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("underpayment_id", Uuid, nullable=False),
    Column("from_status", Text, nullable=False),
    Column("to_status", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("note", Text),
    Column("reference", Text),
    Column("amount", Numeric(14, 2)),
    Column("posting_id", Uuid),  # the posting that recovered it, for a recovery by posting
    Column("at", DateTime(timezone=True), nullable=False),
)
