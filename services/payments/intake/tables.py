"""Metadata of the tables the intake owns (schema `payments`, migration 0005): every 835
file received, kept as received (a trigger forbids deleting it or changing its text), and
each of its transaction sets with its outcome. Core tables on the sub-domain's own MetaData;
`shared.bulk.insert_many` reads the column types from here."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, Numeric, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

received_files = Table(
    "received_files",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("sha256", Text, nullable=False),
    Column("source", Text, nullable=False),  # http | kafka
    Column("actor", Text, nullable=False),
    Column("event_id", Uuid, unique=True),  # the remittance.received event it came in
    Column("payer_hint", Text),  # that event's payer_id
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("x12", Text, nullable=False),  # PHI: read only through a `remittances:raw` route
    Column("outcome", Text, nullable=False, server_default="received"),
    Column("errors", JSONB, nullable=False, server_default="[]"),
    Column("counts", JSONB, nullable=False, server_default="{}"),
    Column("repair_of", Uuid, ForeignKey("received_files.id")),
    Column("processed_at", DateTime(timezone=True)),
    Column("retry_at", DateTime(timezone=True)),  # the retry worker's lease on an unprocessed file
)

received_sets = Table(
    "received_sets",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("file_id", Uuid, ForeignKey("received_files.id"), nullable=False),
    Column("set_index", Integer, nullable=False),  # 0-based, in file order
    Column("control_number", Text, nullable=False),  # ST02
    Column("trace_number", Text),  # TRN02
    Column("payer_id", Text),  # ours, once resolved
    Column("payer_name", Text),  # N1*PR N102
    Column("payer_identifiers", JSONB, nullable=False, server_default="[]"),  # [{qualifier, value}]
    Column("amount", Numeric(14, 2)),  # BPR02 signed by BPR03; NULL when it could not be read
    Column("sha256", Text),  # the set's content digest
    Column("outcome", Text, nullable=False),
    Column("remittance_id", Uuid),  # posted: the one made; duplicate/conflict: the one matched
    Column("duplicate_of", Uuid, ForeignKey("received_sets.id")),  # a duplicate of a held set
    Column("errors", JSONB, nullable=False, server_default="[]"),
    Column("differences", JSONB, nullable=False, server_default="[]"),  # a conflict's
    Column("resolution", Text),
    Column("resolution_reason", Text),
    Column("resolved_by", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
