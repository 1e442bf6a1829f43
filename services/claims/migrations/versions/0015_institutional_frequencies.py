"""Issue 20: institutional claims bill a stay in parts. Interim bills (frequency 2 first, 3
continuing, 4 last; UB-04 FL4 digit 4, 837I CLM05-3) are frequencies a claim may have now,
beside 1 original, 7 replacement and 8 void. The claim type itself lives in `data`
(data->>'claim_type', absent = professional), so no other column changes."""

from alembic import op

revision = "0015_institutional_frequencies"
down_revision = "0014_registry_copy"


def upgrade() -> None:
    op.execute("ALTER TABLE claims DROP CONSTRAINT claims_frequency_code_check")
    op.execute(
        "ALTER TABLE claims ADD CONSTRAINT claims_frequency_code_check "
        "CHECK (frequency_code IN ('1','2','3','4','7','8'))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE claims DROP CONSTRAINT claims_frequency_code_check")
    op.execute(
        "ALTER TABLE claims ADD CONSTRAINT claims_frequency_code_check "
        "CHECK (frequency_code IN ('1','7','8'))"
    )
