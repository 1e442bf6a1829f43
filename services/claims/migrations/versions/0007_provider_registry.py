"""The practice's provider registry: billing and rendering providers by NPI."""

from alembic import op

revision = "0007_provider_registry"
down_revision = "0006_auth_service_types"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE providers (
            id           uuid PRIMARY KEY,
            npi          varchar(10) NOT NULL UNIQUE CHECK (npi ~ '^[0-9]{10}$'),
            entity_type  text        NOT NULL CHECK (entity_type IN ('person','organization')),
            name         text        NOT NULL,
            first_name   text,
            taxonomy     text,
            tax_id       text CHECK (tax_id ~ '^[0-9]{9}$'),
            tax_id_type  text CHECK (tax_id_type IN ('EI','SY')),
            address      jsonb,
            roles        jsonb       NOT NULL,
            created_by   text        NOT NULL,
            updated_by   text        NOT NULL,
            created_at   timestamptz NOT NULL,
            updated_at   timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX providers_list ON providers (created_at DESC, id DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE providers")
