"""Bounded adjustments and changeable plans (issue 15 items 10, 11, 14): the ledger learns
`refund_due` rows (a credit beyond the balance, owed back to the patient); claim copies are
found by account (is this an account payments knows?); payment plans keep every version.
"""

from alembic import op

from shared.tables import append_only

revision = "0008"
down_revision = "0007"  # revisions are numbered by branch; the chain is 0004, 0010, 0007, 0008, 0009, 0005

ENTRY_TYPES_BEFORE = "'charge', 'payment', 'insurance_payment', 'adjustment', 'transfer', 'refund'"

STATEMENTS = [
    "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_entry_type_check",
    f"""ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_entry_type_check CHECK (entry_type IN
       ({ENTRY_TYPES_BEFORE}, 'refund_due'))""",
    # A refund due is money owed back, never an open item of its own.
    """ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_refund_due_unapplied
       CHECK (entry_type <> 'refund_due' OR (item_id IS NULL AND bucket = 'patient' AND amount < 0))""",
    "CREATE INDEX claim_copies_account ON claim_copies (account_id)",
    "ALTER TABLE payment_plans ADD COLUMN version integer NOT NULL DEFAULT 1",
    """
    CREATE TABLE payment_plan_versions (
        plan_id           uuid          NOT NULL REFERENCES payment_plans (id),
        version           integer       NOT NULL CHECK (version > 0),
        action            text          NOT NULL CHECK (action IN ('created', 'changed', 'cancelled')),
        total             numeric(14,2) NOT NULL,
        installment_count integer       NOT NULL,
        frequency         text          NOT NULL,
        first_due_date    date          NOT NULL,
        status            text          NOT NULL,
        installments      jsonb         NOT NULL,
        reason            text,
        actor             text          NOT NULL,
        at                timestamptz   NOT NULL,
        PRIMARY KEY (plan_id, version)
    )
    """,
    *append_only("payment_plan_versions"),
    # Plans made before this migration: their version 1 is the plan as it stands now.
    """
    INSERT INTO payment_plan_versions (plan_id, version, action, total, installment_count, frequency,
        first_due_date, status, installments, actor, at)
    SELECT p.id, 1, 'created', p.total, p.installment_count, p.frequency, p.first_due_date, p.status,
        coalesce((SELECT jsonb_agg(jsonb_build_object('number', i.number, 'due_date', i.due_date,
                    'amount', i.amount::text, 'paid', i.paid::text) ORDER BY i.number)
                  FROM plan_installments i WHERE i.plan_id = p.id), '[]'::jsonb),
        'migration 0008', p.created_at
    FROM payment_plans p
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE payment_plan_versions")
    op.execute("ALTER TABLE payment_plans DROP COLUMN version")
    op.execute("DROP INDEX claim_copies_account")
    op.execute("ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_refund_due_unapplied")
    op.execute("ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_entry_type_check")
    # Refund-due rows would break the old constraint; NOT VALID keeps the history as it is.
    op.execute(
        "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_entry_type_check "
        f"CHECK (entry_type IN ({ENTRY_TYPES_BEFORE})) NOT VALID"
    )
