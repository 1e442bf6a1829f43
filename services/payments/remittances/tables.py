"""Metadata of the tables the remittances own (schema `payments`, migrations 0003 and
0005): payers and what their 835s carry, and one row per remittance posted (unique per
payer, trace number and transaction-set content; a second one of a trace number is an
additional remittance or a replacement staff chose). The raw files are the intake's
(`intake.tables.received_files`); the PLB adjustments belong to `provider_adjustments/`.

Core tables on the sub-domain's own MetaData (not SQLModel's global one, where another
service's table of the same name would clash); `shared.bulk.insert_many` reads the column
types from here."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

payers = Table(
    "payers",
    metadata,
    Column("payer_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("identifiers", ARRAY(Text), nullable=False, server_default="{}"),
)

remittances = Table(
    "remittances",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("payer_id", Text, nullable=False),
    Column("trace_number", Text, nullable=False),
    Column("trace_originator", Text),
    Column("control_number", Text),
    Column("handling_code", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("credit_debit", Text, nullable=False),
    Column("paid_date", Date),
    Column("production_date", Date),
    Column("claims_paid", Numeric(14, 2), nullable=False),
    Column("provider_adjustments", Numeric(14, 2), nullable=False),
    Column("warnings", JSONB, nullable=False, server_default="[]"),
    Column("source", Text, nullable=False),
    Column("received_by", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("set_sha256", Text),  # the transaction set's digest (NULL: posted before 0005, filled when needed)
    Column("received_set_id", Uuid),  # intake.tables.received_sets: the set it was posted from
    Column("kind", Text, nullable=False, server_default="original"),  # original | additional | replacement
    Column("replaces", Uuid, ForeignKey("remittances.id"), unique=True),
    UniqueConstraint("payer_id", "trace_number", "set_sha256", name="remittances_content"),
)
