"""Authorization copies learn the service types an authorization covers (X12 EB03, e.g. PT)."""

from alembic import op

revision = "0006_auth_service_types"
down_revision = "0005_denial_why"


def upgrade() -> None:
    op.execute("ALTER TABLE authorization_copies ADD COLUMN service_type_codes jsonb NOT NULL DEFAULT '[]'")


def downgrade() -> None:
    op.execute("ALTER TABLE authorization_copies DROP COLUMN service_type_codes")
