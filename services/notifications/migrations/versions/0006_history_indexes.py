"""The notifications report's date range (issue 16, item 9).

`GET /v1/reports/deliveries` counts the deliveries and the notifications created in a range
of days, by channel and status, and by template and audience. Neither table had an index on
created_at, so every report read both tables whole; with years of messages that is the whole
history for one month's figures. The indexes carry the grouped columns (INCLUDE), so the counts
come from the index where the table's pages are all-visible.

CREATE INDEX CONCURRENTLY (shared.migrations.create_indexes_concurrently): a plain CREATE INDEX
blocks new notifications and delivery updates for as long as the build takes.
"""

from shared.migrations import create_indexes_concurrently, drop_indexes_concurrently

revision = "0006_history_indexes"
down_revision = "0005_stuck_work"

INDEXES = {
    "deliveries_created": "ON deliveries (created_at) INCLUDE (channel, status)",
    "inbox_messages_created": "ON inbox_messages (created_at) INCLUDE (template, recipient_id)",
}


def upgrade() -> None:
    create_indexes_concurrently(INDEXES)


def downgrade() -> None:
    drop_indexes_concurrently(list(INDEXES))
