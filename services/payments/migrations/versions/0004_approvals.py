"""Second-person approvals: commands (large adjustments, denial write-offs, cross-payer
matches) stored until someone other than the requester approves or rejects them."""

from alembic import op

revision = "0004"
down_revision = "0003"

STATEMENTS = [
    """
    CREATE TABLE approvals (
        id             uuid PRIMARY KEY,
        kind           text        NOT NULL,
        subject        text        NOT NULL,
        command        jsonb       NOT NULL,
        summary        jsonb       NOT NULL,
        reason         text        NOT NULL CHECK (length(reason) > 0),
        status         text        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'approved', 'rejected')),
        requested_by   text        NOT NULL,
        requested_at   timestamptz NOT NULL,
        decided_by     text,
        decided_at     timestamptz,
        decision_note  text,
        result         jsonb,
        CHECK (status = 'pending' OR (decided_by IS NOT NULL AND decided_at IS NOT NULL)),
        CHECK (status <> 'approved' OR decided_by <> requested_by)
    )
    """,
    "CREATE INDEX approvals_queue ON approvals (status, requested_at, id)",
    "CREATE INDEX approvals_subject ON approvals (subject)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE approvals")
