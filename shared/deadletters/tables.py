"""The dead-letter index every service keeps in its own schema (each service's migration applies
DEAD_LETTER_DDL, like the backbone tables).

Why a table and not a compacted Kafka topic for the state: operators filter by topic, reason,
status and age and page through the answer (SQL does that), a replay or discard must happen
once even when two operators or two replicas act at the same moment (a row lock does that), and
the action's audit entry lives in the same database. The payloads stay in Kafka only: the index
holds where each record is, why it was parked and what was done with it, no PHI.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, Text, Uuid

DEAD_LETTER_DDL = [
    """
    CREATE TABLE dead_letters (
        id                 uuid        PRIMARY KEY,
        consumer_group     text        NOT NULL,
        topic              text        NOT NULL,
        original_partition integer     NOT NULL,
        original_offset    bigint      NOT NULL,
        dlq_partition      integer     NOT NULL,
        dlq_offset         bigint      NOT NULL,
        event_id           text,
        event_type         text,
        event_key          text,
        reason             text        NOT NULL CHECK (reason IN ('schema', 'rule', 'error')),
        error              text        NOT NULL,
        attempts           integer     NOT NULL,
        failed_at          timestamptz NOT NULL,
        indexed_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
        status             text        NOT NULL DEFAULT 'parked'
                                       CHECK (status IN ('parked', 'replayed', 'discarded')),
        replays            integer     NOT NULL DEFAULT 0,
        last_replayed_at   timestamptz,
        decided_by         text,
        decided_at         timestamptz,
        note               text,
        CHECK (status <> 'discarded' OR length(note) > 0)
    )
    """,
    # A record parked twice (the consumer retried the send) is one dead letter; one parked
    # without saying where it came from (-1) is its own.
    """
    CREATE UNIQUE INDEX dead_letters_original ON dead_letters
        (consumer_group, topic, original_partition, original_offset) WHERE original_offset >= 0
    """,
    "CREATE INDEX dead_letters_queue ON dead_letters (status, topic, failed_at, id)",
    "CREATE INDEX dead_letters_event ON dead_letters (event_id)",
    # How far each consumer group's dead-letter partitions have been indexed.
    """
    CREATE TABLE dead_letter_offsets (
        consumer_group text    NOT NULL,
        dlq_topic      text    NOT NULL,
        dlq_partition  integer NOT NULL,
        next_offset    bigint  NOT NULL,
        PRIMARY KEY (consumer_group, dlq_topic, dlq_partition)
    )
    """,
]

DEAD_LETTER_TABLES = ("dead_letter_offsets", "dead_letters")

metadata = MetaData()

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("consumer_group", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("original_partition", Integer, nullable=False),
    Column("original_offset", BigInteger, nullable=False),
    Column("dlq_partition", Integer, nullable=False),
    Column("dlq_offset", BigInteger, nullable=False),
    Column("event_id", Text),
    Column("event_type", Text),
    Column("event_key", Text),
    Column("reason", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Column("indexed_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False),
    Column("replays", Integer, nullable=False),
    Column("last_replayed_at", DateTime(timezone=True)),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("note", Text),
)

dead_letter_offsets = Table(
    "dead_letter_offsets",
    metadata,
    Column("consumer_group", Text, primary_key=True),
    Column("dlq_topic", Text, primary_key=True),
    Column("dlq_partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)
