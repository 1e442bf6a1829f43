"""The patient registry: patients, coverages, their history, discrepancies.

Owner: the patients part (the patient and coverage registry). A placeholder in the chain
until then: its owner fills upgrade() and downgrade() here and keeps the revision ids.
"""

revision = "0002_patients"
down_revision = "0001_frontoffice"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
