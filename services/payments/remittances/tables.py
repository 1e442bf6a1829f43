"""Metadata of the tables the remittance intake owns (schema `payments`, defined by
migration 0003): payers and what their 835s carry, one row per remittance (unique per
payer and trace number) and its raw file. Its PLB adjustments belong to
`provider_adjustments/`.

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
    UniqueConstraint("payer_id", "trace_number"),
)

# The raw 835 (PHI): read only through an audited, separately scoped route.
remittance_files = Table(
    "remittance_files",
    metadata,
    Column("remittance_id", Uuid, ForeignKey("remittances.id"), primary_key=True),
    Column("sha256", Text, nullable=False),
    Column("x12", Text, nullable=False),
)
