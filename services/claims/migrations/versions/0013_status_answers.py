"""Issue 18: what payers and clearinghouses said about a claim, one row per answer (277 X212
status, 277CA, 999, TA1), append-only; and `claims.followup_from`, from when the follow-up
window counts again after a pended or finalized answer (the payer is asked again one window
later)."""

from alembic import op

from shared.tables import append_only

revision = "0013_status_answers"
down_revision = "0012_audit_chain"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE status_answers (
            id                          uuid          PRIMARY KEY,
            claim_id                    uuid          NOT NULL REFERENCES claims (id),
            event_id                    uuid          NOT NULL,
            source                      text          NOT NULL
                CHECK (source IN ('277CA', '277', '999', 'TA1')),
            category_code               text          NOT NULL,
            status_code                 text,
            entity_code                 text,
            description                 text          NOT NULL,
            effective_date              date,
            payer_claim_control_number  text,
            total_charge                numeric(14,2),
            paid_amount                 numeric(14,2),
            codes                       jsonb         NOT NULL DEFAULT '[]',
            received_at                 timestamptz   NOT NULL,
            recorded_at                 timestamptz   NOT NULL,
            UNIQUE (event_id, claim_id)
        )
        """
    )
    op.execute("CREATE INDEX status_answers_claim ON status_answers (claim_id, received_at)")
    for statement in append_only("status_answers"):
        op.execute(statement)
    op.execute("ALTER TABLE claims ADD COLUMN followup_from timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE claims DROP COLUMN followup_from")
    op.execute("DROP TABLE status_answers")
