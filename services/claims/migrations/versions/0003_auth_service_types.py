"""Authorization copies learn the service types an authorization covers (X12 EB03, e.g. PT).

Revision ID: 0003_auth_service_types
Revises: 0002
"""

from alembic import op

revision = "0003_auth_service_types"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE authorization_copies ADD COLUMN service_type_codes jsonb NOT NULL DEFAULT '[]'")


def downgrade() -> None:
    op.execute("ALTER TABLE authorization_copies DROP COLUMN service_type_codes")
