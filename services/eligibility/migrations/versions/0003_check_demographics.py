"""checks.demographics_enc: who the payer's 271 says the patient is (the subscriber's and the
dependent's names, ids, addresses, birth dates, the primary care provider, REF*EJ), sealed
with the service's Fernet keys like the raw X12, so staff can correct demographics."""

from alembic import op

revision = "0003_check_demographics"
down_revision = "0002"


def upgrade() -> None:
    op.execute("ALTER TABLE checks ADD COLUMN demographics_enc bytea")


def downgrade() -> None:
    op.execute("ALTER TABLE checks DROP COLUMN demographics_enc")
