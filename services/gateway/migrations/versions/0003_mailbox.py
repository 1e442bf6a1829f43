"""The mailbox state (which remote file was taken into which received file, and when it was
disposed of), the interchange control numbers per partner, and each partner's last poll and
upload (readiness, ops, GET /v1/partners). Also what every service's history holds and 0002
did not: the dead-letter index (shared.deadletters) and the audit log's hash chain (issue 17);
without them the audited routes and the dead-letter probes fail."""

from alembic import op

from shared.migrations import (
    chain_audit_log,
    create_dead_letter_tables,
    drop_dead_letter_tables,
    unchain_audit_log,
)

revision = "0003"
down_revision = "0002"

STATEMENTS = [
    """
    CREATE TABLE mailbox_entries (
        partner_id     text        NOT NULL,
        remote_name    text        NOT NULL,
        size           bigint      NOT NULL,
        mtime          double precision NOT NULL,
        first_seen_at  timestamptz NOT NULL,
        last_seen_at   timestamptz NOT NULL,
        file_id        uuid REFERENCES received_files (id),
        disposed_at    timestamptz,
        PRIMARY KEY (partner_id, remote_name)
    )
    """,
    # Every foreign key has an index leading with it (tests/shared/test_indexes.py).
    "CREATE INDEX mailbox_entries_file ON mailbox_entries (file_id)",
    """
    CREATE TABLE control_numbers (
        partner_id  text   NOT NULL,
        kind        text   NOT NULL CHECK (kind IN ('isa', 'gs')),
        last_value  bigint NOT NULL CHECK (last_value BETWEEN 0 AND 999999999),
        PRIMARY KEY (partner_id, kind)
    )
    """,
    """
    CREATE TABLE partner_state (
        partner_id        text PRIMARY KEY,
        last_poll_at      timestamptz,
        last_poll_ok_at   timestamptz,
        last_poll_error   text,
        last_error_at     timestamptz,
        last_upload_at    timestamptz
    )
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
    create_dead_letter_tables()
    chain_audit_log()


def downgrade() -> None:
    unchain_audit_log()
    drop_dead_letter_tables()
    for table in ("partner_state", "control_numbers", "mailbox_entries"):
        op.execute(f"DROP TABLE {table}")
