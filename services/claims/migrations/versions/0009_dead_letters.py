"""The dead-letter index (shared.deadletters): where each of this service's dead letters is, why
it was parked, and what an operator did with it."""

from shared.migrations import create_dead_letter_tables, drop_dead_letter_tables

revision = "0009_dead_letters"
down_revision = "0008_denied_ar"


def upgrade() -> None:
    create_dead_letter_tables()


def downgrade() -> None:
    drop_dead_letter_tables()
