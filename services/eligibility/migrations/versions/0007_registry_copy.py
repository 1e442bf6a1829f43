"""Issue 19: eligibility's copy of the front office registry (patient.updated and
coverage.updated), one row per patient, so a check can be asked with only a patient id and a
date. Each half keeps the highest revision it has seen (the registry's per-patient counter is
shared by both events, which travel on two topics and may arrive in either order); the PHI is
sealed with the service's Fernet keys, as the checks' request and 271 people are."""

from alembic import op

revision = "0007_registry_copy"
down_revision = "0006_audit_chain"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE registry_copies (
            patient_id         text PRIMARY KEY,
            patient_revision   integer     NOT NULL DEFAULT 0 CHECK (patient_revision >= 0),
            patient_enc        bytea,
            coverage_revision  integer     NOT NULL DEFAULT 0 CHECK (coverage_revision >= 0),
            coverages_enc      bytea,
            updated_at         timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE registry_copies")
