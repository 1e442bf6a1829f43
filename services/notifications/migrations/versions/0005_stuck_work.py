"""Stuck work (shared.stuckwork): the failed-deliveries probe counts the day's failed deliveries
every round; without this partial index it would read the whole deliveries table each time."""

from alembic import op

revision = "0005_stuck_work"
down_revision = "0004_dead_letters"


def upgrade() -> None:
    op.execute("CREATE INDEX deliveries_failed ON deliveries (created_at) WHERE status = 'failed'")


def downgrade() -> None:
    op.execute("DROP INDEX deliveries_failed")
