"""An index on ticket_holds (ticket_id): a ticket's holds are read with it (GET /v1/tickets/{id})
and its foreign key checks use it (tests/shared/test_indexes.py: every foreign key has an index
leading with its columns; the partial unique index of active holds covers only unreleased ones).

Owner: the tickets part (a review addition after the fixed chain 0002-0004).
"""

from alembic import op

revision = "0005_ticket_holds_index"
down_revision = "0004_assistance"


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ticket_holds_ticket ON ticket_holds (ticket_id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ticket_holds_ticket")
