"""In-app inbox messages."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE inbox_messages (
            id               uuid PRIMARY KEY,
            recipient_id     text        NOT NULL,
            template         text        NOT NULL,
            template_version integer     NOT NULL,
            subject          text        NOT NULL,
            body             text        NOT NULL,
            cause_event_id   uuid        NOT NULL,
            created_at       timestamptz NOT NULL,
            read_at          timestamptz,
            UNIQUE (cause_event_id, recipient_id, template)
        )
        """
    )
    op.execute("CREATE INDEX inbox_messages_recipient ON inbox_messages (recipient_id, created_at DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE inbox_messages")
