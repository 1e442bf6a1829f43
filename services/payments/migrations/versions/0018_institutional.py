"""Issue 20: institutional claims. A claim copy keeps its claim type (claim.submitted's
`claim_type`; reports split by it), and a claim posting keeps what the 835 said only of an
institutional claim: CLP08 facility type code, CLP09 frequency, CLP11 DRG, CLP12 DRG weight,
MIA (inpatient) and MOA (outpatient) as read. The lines' revenue codes and the claim line each
835 line answers live in the existing `lines` JSON. Claims and postings kept before are
professional (the default)."""

from alembic import op

revision = "0018_institutional"
down_revision = "0017_front_office"

TYPES = "CHECK (claim_type IN ('professional', 'institutional'))"
STATEMENTS = [
    f"ALTER TABLE claim_copies ADD COLUMN claim_type text NOT NULL DEFAULT 'professional' {TYPES}",
    f"""
    ALTER TABLE claim_postings
        ADD COLUMN claim_type text NOT NULL DEFAULT 'professional' {TYPES},
        ADD COLUMN facility_type_code text,
        ADD COLUMN frequency_code text,
        ADD COLUMN drg_code text,
        ADD COLUMN drg_weight numeric(12, 4),
        ADD COLUMN inpatient jsonb,
        ADD COLUMN outpatient jsonb
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute(
        "ALTER TABLE claim_postings DROP COLUMN claim_type, DROP COLUMN facility_type_code, "
        "DROP COLUMN frequency_code, DROP COLUMN drg_code, DROP COLUMN drg_weight, "
        "DROP COLUMN inpatient, DROP COLUMN outpatient"
    )
    op.execute("ALTER TABLE claim_copies DROP COLUMN claim_type")
