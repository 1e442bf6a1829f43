"""Financial assistance: poverty guidelines, policy tiers, screenings, applications,
financing referrals.

Owner: the assistance part (financial assistance and patient financing). A placeholder in
the chain until then: its owner fills upgrade() and downgrade() here and keeps the revision ids.
"""

revision = "0004_assistance"
down_revision = "0003_tickets"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
