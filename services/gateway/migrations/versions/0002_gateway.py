"""The gateway's core tables: outbound claims and submission files, received files (kept as
received) and the review queue. Later revisions add the mailbox state, control numbers and
claim-status inquiries."""

from alembic import op

revision = "0002"
down_revision = "0001"

STATEMENTS = [
    """
    CREATE TABLE submission_files (
        id                          uuid PRIMARY KEY,
        partner_id                  text        NOT NULL,
        kind                        text        NOT NULL CHECK (kind IN ('837', '276')),
        file_name                   text        NOT NULL,
        interchange_control_number  text        NOT NULL CHECK (interchange_control_number ~ '^[0-9]{9}$'),
        group_control_number        text        NOT NULL,
        usage                       text        NOT NULL CHECK (usage IN ('T', 'P')),
        sha256                      text        NOT NULL,
        x12                         text        NOT NULL,
        claim_count                 integer     NOT NULL CHECK (claim_count >= 0),
        state                       text        NOT NULL
            CHECK (state IN ('built', 'uploaded', 'acknowledged', 'rejected')),
        built_at                    timestamptz NOT NULL,
        upload_attempts             integer     NOT NULL DEFAULT 0,
        upload_at                   timestamptz,
        last_error                  text,
        uploaded_at                 timestamptz,
        ta1_code                    text,
        ta1_note                    text,
        ack_code                    text,
        acknowledged_at             timestamptz,
        UNIQUE (partner_id, file_name),
        UNIQUE (partner_id, interchange_control_number),
        UNIQUE (partner_id, group_control_number)
    )
    """,
    "CREATE INDEX submission_files_state ON submission_files (state, upload_at)",
    """
    CREATE TABLE outbound_claims (
        event_id                    uuid PRIMARY KEY,
        claim_id                    uuid        NOT NULL,
        patient_control_number      text        NOT NULL,
        payer_id                    text        NOT NULL,
        partner_id                  text,
        frequency_code              text        NOT NULL,
        x12_837                     text        NOT NULL,
        submitted_at                timestamptz NOT NULL,
        received_at                 timestamptz NOT NULL,
        state                       text        NOT NULL CHECK (state IN ('queued', 'filed', 'ignored')),
        file_id                     uuid REFERENCES submission_files (id),
        set_control_number          text,
        ack_state                   text        NOT NULL DEFAULT 'pending'
            CHECK (ack_state IN ('pending', 'accepted', 'rejected')),
        ack_source                  text,
        payer_claim_control_number  text,
        CHECK ((state = 'filed') = (file_id IS NOT NULL)),
        UNIQUE (file_id, set_control_number)
    )
    """,
    "CREATE INDEX outbound_claims_queue ON outbound_claims (partner_id, state, received_at)",
    "CREATE INDEX outbound_claims_pcn ON outbound_claims (patient_control_number)",
    "CREATE INDEX outbound_claims_claim ON outbound_claims (claim_id)",
    "CREATE INDEX outbound_claims_file ON outbound_claims (file_id)",
    """
    CREATE TABLE received_files (
        id            uuid PRIMARY KEY,
        partner_id    text,
        source        text        NOT NULL CHECK (source IN ('mailbox', 'upload', 'realtime')),
        remote_name   text        NOT NULL,
        sha256        text        NOT NULL,
        content       text        NOT NULL,
        received_at   timestamptz NOT NULL,
        actor         text        NOT NULL,
        kind          text,
        state         text        NOT NULL DEFAULT 'received'
            CHECK (state IN ('received', 'processed', 'review', 'duplicate')),
        processed_at  timestamptz,
        retry_at      timestamptz,
        errors        jsonb       NOT NULL DEFAULT '[]',
        counts        jsonb       NOT NULL DEFAULT '{}'
    )
    """,
    # One row per (partner, name, content): a file polled twice, or after a crash, is taken once.
    "CREATE UNIQUE INDEX received_files_once "
    "ON received_files (coalesce(partner_id, ''), remote_name, sha256)",
    "CREATE INDEX received_files_sha ON received_files (sha256)",
    "CREATE INDEX received_files_due ON received_files (state, retry_at)",
    "CREATE INDEX received_files_newest ON received_files (received_at DESC, id DESC)",
    # Kept as received: the content never changes and the row is never deleted.
    """
    CREATE FUNCTION gateway_received_file_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'received files are kept: % may not be deleted', OLD.id;
        END IF;
        IF NEW.content IS DISTINCT FROM OLD.content OR NEW.sha256 IS DISTINCT FROM OLD.sha256 THEN
            RAISE EXCEPTION 'received files are kept: the content of % may not change', OLD.id;
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER received_files_kept BEFORE UPDATE OR DELETE ON received_files "
    "FOR EACH ROW EXECUTE FUNCTION gateway_received_file_kept()",
    """
    CREATE TABLE review_queue (
        id           uuid PRIMARY KEY,
        file_id      uuid        NOT NULL REFERENCES received_files (id),
        reason       text        NOT NULL,
        detail       jsonb       NOT NULL DEFAULT '{}',
        created_at   timestamptz NOT NULL,
        resolution   text CHECK (resolution IN ('reprocessed', 'dismissed')),
        resolved_by  text,
        resolved_at  timestamptz,
        note         text
    )
    """,
    "CREATE INDEX review_queue_open ON review_queue (created_at DESC, id DESC) WHERE resolution IS NULL",
    "CREATE INDEX review_queue_file ON review_queue (file_id)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("review_queue", "received_files", "outbound_claims", "submission_files"):
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION gateway_received_file_kept()")
