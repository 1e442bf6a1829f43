"""Tables every service has in its own schema: outbox, inbox, audit log, idempotency keys.

The DDL lives here once; each service's first Alembic migration applies it to its schema
(search_path points at the schema during migrations), so all four get the same tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel


def append_only(table: str) -> list[str]:
    """DDL that makes `table` append-only (used by service migrations, e.g. ledgers)."""
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION forbid_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()",
    ]


BACKBONE_DDL = [
    # Transactional outbox: written in the same transaction as the state change.
    """
    CREATE TABLE outbox (
        id            bigserial PRIMARY KEY,
        event_id      uuid        NOT NULL UNIQUE,
        topic         text        NOT NULL,
        event_key     text        NOT NULL,
        event_type    text        NOT NULL,
        headers       jsonb       NOT NULL,
        payload       bytea       NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        published_at  timestamptz
    )
    """,
    "CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL",
    "CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL",
    # Wake the relay as soon as a transaction that wrote events commits (NOTIFY is
    # delivered at commit, and never for a rolled-back transaction).
    """
    CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
        FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()
    """,
    # Idempotent consumers: one row per (consumer group, event id), written in the
    # handler's transaction.
    """
    CREATE TABLE inbox (
        consumer_group text        NOT NULL,
        event_id       uuid        NOT NULL,
        topic          text        NOT NULL,
        event_type     text        NOT NULL,
        received_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (consumer_group, event_id)
    )
    """,
    # HIPAA audit trail: append-only (grants and a trigger), kept six years.
    """
    CREATE TABLE audit_log (
        id             bigserial   PRIMARY KEY,
        occurred_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor          text        NOT NULL,
        action         text        NOT NULL,
        resource_type  text        NOT NULL,
        resource_id    text,
        patient_id     text,
        outcome        text        NOT NULL,
        status_code    integer,
        correlation_id text,
        retain_until   date        NOT NULL DEFAULT (current_date + interval '6 years')
    )
    """,
    "CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id)",
    "CREATE INDEX audit_log_patient ON audit_log (patient_id) WHERE patient_id IS NOT NULL",
    # Append-only tables (audit log, ledgers) attach this trigger; shared.migrate also
    # revokes UPDATE/DELETE/TRUNCATE from the service role on every table that has it.
    """
    CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    *append_only("audit_log"),
    # Idempotency-Key for money-moving POSTs: the first response is kept and replayed.
    """
    CREATE TABLE idempotency_keys (
        idempotency_key text        NOT NULL,
        scope           text        NOT NULL,
        request_hash    text        NOT NULL,
        status_code     integer     NOT NULL,
        response_body   jsonb       NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (scope, idempotency_key)
    )
    """,
]


class OutboxRow(SQLModel, table=True):
    """A pending or published event (see BACKBONE_DDL for the authoritative definition)."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    event_id: UUID
    topic: str
    event_key: str
    event_type: str
    headers: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    payload: bytes
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=text("clock_timestamp()"))
    )
    published_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class AuditRow(SQLModel, table=True):
    """One audit entry. seq, prev_hash and hash are the chain's (shared.audit_chain): its
    trigger fills them on insert, whatever the insert sends."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=text("clock_timestamp()"))
    )
    actor: str
    action: str
    resource_type: str
    resource_id: str | None = None
    patient_id: str | None = None
    outcome: str
    status_code: int | None = Field(default=None, sa_column=Column(Integer))
    correlation_id: str | None = Field(default=None, sa_column=Column(String))
    # Every patient the request touched (a bulk read's whole page), the single one included.
    patient_ids: list[str] | None = Field(default=None, sa_column=Column(ARRAY(Text)))
    route: str | None = Field(default=None, sa_column=Column(String))
    reason: str | None = Field(default=None, sa_column=Column(String))
    seq: int | None = Field(default=None, sa_column=Column(BigInteger))
    prev_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
