"""Claims' A/R rows (issue 15, item 5): what each claim's payer owes, kept as payments keeps its
insurance ledger (shared.receivables), so the two services' A/R agree. Append-only.

Existing claims get one `opening` row each: what the A/R report counted until now (an open
claim's charge less what was paid), dated at its last change; new activity follows the rule.
"""

from alembic import op

from shared.tables import append_only

revision = "0008_denied_ar"
down_revision = "0007_provider_registry"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ar_entries (
            id           bigserial PRIMARY KEY,
            claim_id     uuid          NOT NULL,
            payer_id     text          NOT NULL,
            kind         text          NOT NULL CHECK (kind IN ('charge', 'insurance_payment', 'adjustment',
                         'transfer', 'opening', 'retired', 'written_off', 'billed_patient')),
            amount       numeric(14,2) NOT NULL,
            to_patient   numeric(14,2) NOT NULL DEFAULT 0,
            payment_id   uuid,
            group_code   text,
            reason_code  text,
            recorded_at  timestamptz   NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ar_entries_claim ON ar_entries (claim_id, id)")
    op.execute("CREATE INDEX ar_entries_payment ON ar_entries (payment_id) WHERE payment_id IS NOT NULL")
    for statement in append_only("ar_entries"):
        op.execute(statement)
    op.execute(
        """
        INSERT INTO ar_entries (claim_id, payer_id, kind, amount, recorded_at)
        SELECT id, payer_id, 'opening', total_charge - coalesce(paid_amount, 0), updated_at FROM claims
        WHERE status IN ('submitted', 'accepted', 'partial', 'denied', 'appealed') AND frequency_code <> '8'
          AND total_charge - coalesce(paid_amount, 0) <> 0
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE ar_entries")
