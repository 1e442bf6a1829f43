"""Issue 17 item 9: the practice's money limits, one append-only row per version (the newest
is in force; before the first, the settings' defaults are)."""

from alembic import op

from shared.tables import append_only

revision = "0016_money_limits"
down_revision = "0015_audit_chain"

STATEMENTS = [
    """
    CREATE TABLE money_limits (
        version            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        patient_payment    numeric(14, 2) NOT NULL CHECK (patient_payment > 0),
        insurer_payment    numeric(14, 2) NOT NULL CHECK (insurer_payment > 0),
        refund             numeric(14, 2) NOT NULL CHECK (refund > 0),
        write_off          numeric(14, 2) NOT NULL CHECK (write_off > 0),
        approval_threshold numeric(14, 2) NOT NULL CHECK (approval_threshold >= 0),
        changed_by         text           NOT NULL,
        changed_at         timestamptz    NOT NULL
    )
    """,
    *append_only("money_limits"),
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE money_limits")
