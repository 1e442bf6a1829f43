"""Recipients directory, preferences, and the delivery pipeline (deliveries and their attempts)."""

from alembic import op

from shared.tables import append_only

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE recipients (
            id          text PRIMARY KEY,
            kind        text NOT NULL CHECK (kind IN ('patient', 'staff')),
            email       text,
            phone       text,
            timezone    text NOT NULL DEFAULT 'UTC',
            roles       text[] NOT NULL DEFAULT '{}',
            payer_ids   text[] NOT NULL DEFAULT '{}',
            created_at  timestamptz NOT NULL,
            updated_at  timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX recipients_staff_roles ON recipients USING gin (roles) WHERE kind = 'staff'")
    op.execute(
        "CREATE INDEX recipients_staff_payers ON recipients USING gin (payer_ids) WHERE kind = 'staff'"
    )
    op.execute(
        """
        CREATE TABLE preferences (
            recipient_id text NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
            category     text NOT NULL,
            channel      text NOT NULL CHECK (channel IN ('email', 'sms', 'inbox')),
            opt_in       boolean NOT NULL,
            quiet_start  time,
            quiet_end    time,
            PRIMARY KEY (recipient_id, category, channel)
        )
        """
    )
    op.execute("ALTER TABLE inbox_messages ADD COLUMN category text")
    op.execute("ALTER TABLE inbox_messages ADD COLUMN cause_event_type text")
    op.execute("ALTER TABLE inbox_messages ADD COLUMN required boolean NOT NULL DEFAULT false")
    op.execute(
        "CREATE INDEX inbox_messages_cursor ON inbox_messages (recipient_id, created_at DESC, id DESC)"
    )
    op.execute(
        """
        CREATE TABLE deliveries (
            id               uuid PRIMARY KEY,
            notification_id  uuid NOT NULL REFERENCES inbox_messages (id),
            recipient_id     text NOT NULL,
            channel          text NOT NULL CHECK (channel IN ('email', 'sms', 'inbox')),
            address          text,
            template         text NOT NULL,
            template_version integer NOT NULL,
            subject          text NOT NULL,
            body             text NOT NULL,
            cause_event_id   uuid NOT NULL,
            status           text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
            reason           text,
            attempts         integer NOT NULL DEFAULT 0,
            next_attempt_at  timestamptz NOT NULL,
            last_error       text,
            created_at       timestamptz NOT NULL,
            sent_at          timestamptz,
            UNIQUE (cause_event_id, recipient_id, channel)
        )
        """
    )
    op.execute("CREATE INDEX deliveries_notification ON deliveries (notification_id)")
    op.execute("CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending'")
    op.execute(
        """
        CREATE TABLE delivery_attempts (
            id          bigserial PRIMARY KEY,
            delivery_id uuid NOT NULL REFERENCES deliveries (id),
            attempt     integer NOT NULL,
            at          timestamptz NOT NULL,
            outcome     text NOT NULL CHECK (outcome IN ('sent', 'error')),
            error       text
        )
        """
    )
    op.execute("CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempt)")
    for statement in append_only("delivery_attempts"):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE delivery_attempts")
    op.execute("DROP TABLE deliveries")
    op.execute("DROP INDEX inbox_messages_cursor")
    op.execute("ALTER TABLE inbox_messages DROP COLUMN required")
    op.execute("ALTER TABLE inbox_messages DROP COLUMN cause_event_type")
    op.execute("ALTER TABLE inbox_messages DROP COLUMN category")
    op.execute("DROP TABLE preferences")
    op.execute("DROP TABLE recipients")
