"""Patient payments and the append-only account ledger."""

from alembic import op

from shared.tables import append_only

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE patient_payments (
            id             uuid PRIMARY KEY,
            account_id     text          NOT NULL,
            amount         numeric(14,2) NOT NULL CHECK (amount > 0),
            method         text          NOT NULL CHECK (method IN ('card', 'check', 'cash', 'ach')),
            reference      text,
            receipt_number text          NOT NULL UNIQUE,
            posted_by      text          NOT NULL,
            posted_at      timestamptz   NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX patient_payments_account ON patient_payments (account_id)")
    op.execute(
        """
        CREATE TABLE ledger_entries (
            id          bigserial PRIMARY KEY,
            account_id  text          NOT NULL,
            entry_type  text          NOT NULL
                CHECK (entry_type IN ('charge', 'payment', 'adjustment', 'refund')),
            amount      numeric(14,2) NOT NULL,
            payment_id  uuid,
            description text          NOT NULL,
            occurred_at timestamptz   NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id)")
    for statement in append_only("ledger_entries"):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE ledger_entries")
    op.execute("DROP TABLE patient_payments")
