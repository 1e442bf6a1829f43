"""Authorizations name service types too (X12 EB03, e.g. PT); the visits claims bill against
them are kept, one row per first claim of a chain, authorization and date of service, so a
claim sent again or corrected counts its visit once."""

from alembic import op

revision = "0004_authorization_visits"
down_revision = "0003_check_demographics"


def upgrade() -> None:
    op.execute("ALTER TABLE authorizations ADD COLUMN service_type_codes jsonb NOT NULL DEFAULT '[]'")
    op.execute(
        """
        CREATE TABLE authorization_visits (
            claim_id         uuid        NOT NULL,
            authorization_id uuid        NOT NULL REFERENCES authorizations (id),
            date_of_service  date        NOT NULL,
            counted_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (claim_id, authorization_id, date_of_service)
        )
        """
    )
    op.execute("CREATE INDEX authorization_visits_authorization ON authorization_visits (authorization_id)")


def downgrade() -> None:
    op.execute("DROP TABLE authorization_visits")
    op.execute("ALTER TABLE authorizations DROP COLUMN service_type_codes")
