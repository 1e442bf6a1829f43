"""Issue 19: claims' copy of the front office's registry (patient.updated, coverage.updated),
one row per patient with each part's highest revision, so new claims take the coverage in
force without re-typing; and claim_flags, the open claims a coverage change affects
(a corrected member id, a retroactive termination) with the action suggested to staff."""

from alembic import op

revision = "0014_registry_copy"
down_revision = "0013_status_answers"


def upgrade() -> None:
    # Each part keeps its own revision: the counter is shared per patient, but an event carries
    # one part only, so a patient.updated at 5 says nothing about the coverages at 4.
    op.execute(
        """
        CREATE TABLE registry_copies (
            patient_id         text        PRIMARY KEY,
            patient_revision   integer     CHECK (patient_revision >= 1),
            patient            jsonb,
            guarantor          jsonb,
            coverage_revision  integer     CHECK (coverage_revision >= 1),
            coverages          jsonb       NOT NULL DEFAULT '[]',
            updated_at         timestamptz NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE claim_flags (
            id                  uuid        PRIMARY KEY,
            claim_id            uuid        NOT NULL REFERENCES claims (id),
            patient_id          text        NOT NULL,
            payer_id            text        NOT NULL,
            kind                text        NOT NULL
                CHECK (kind IN ('member_id_corrected', 'retroactive_termination')),
            coverage_id         uuid        NOT NULL,
            revision            integer     NOT NULL,
            suggested_action    text        NOT NULL,
            suggested_payer_id  text,
            status              text        NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'resolved', 'dismissed')),
            note                text,
            resolved_by         text,
            resolved_at         timestamptz,
            created_at          timestamptz NOT NULL,
            CHECK ((status = 'open') = (resolved_at IS NULL))
        )
        """
    )
    # One open flag per claim and kind: a second change of the same kind keeps the first open.
    op.execute("CREATE UNIQUE INDEX claim_flags_open ON claim_flags (claim_id, kind) WHERE status = 'open'")
    op.execute("CREATE INDEX claim_flags_claim ON claim_flags (claim_id, created_at DESC, id DESC)")
    op.execute("CREATE INDEX claim_flags_work ON claim_flags (status, created_at DESC, id DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE claim_flags")
    op.execute("DROP TABLE registry_copies")
