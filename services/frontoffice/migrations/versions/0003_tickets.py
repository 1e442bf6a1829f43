"""Billing inquiries and disputes: tickets, notes, service levels.

Owner: the tickets part (billing inquiries and disputes). A placeholder in the chain until
then: its owner fills upgrade() and downgrade() here and keeps the revision ids.
"""

revision = "0003_tickets"
down_revision = "0002_patients"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
