"""The account cycle and collections (issue 15, items 13 and 15): dunning sequences and their
recorded steps, plans that default, referrals that can be recalled (and referred again later),
disputes that pause dunning, and payments' minimal copy of who the patient and guarantor are.
"""

from alembic import op

revision = "0009"
down_revision = "0008"  # revisions are numbered by branch; the chain is 0004, 0010, 0007, 0008, 0009, 0005

STATEMENTS = [
    # One sequence per time an account runs through the practice's dunning policy; at most one open.
    """
    CREATE TABLE dunning_sequences (
        id            uuid PRIMARY KEY,
        account_id    text        NOT NULL,
        started_on    date        NOT NULL,
        closed_on     date,
        closed_reason text CHECK (closed_reason IN ('paid', 'referred')),
        created_at    timestamptz NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX dunning_one_open ON dunning_sequences (account_id) WHERE closed_on IS NULL",
    """
    CREATE TABLE dunning_steps (
        sequence_id  uuid        NOT NULL REFERENCES dunning_sequences (id),
        step         integer     NOT NULL CHECK (step >= 1),
        account_id   text        NOT NULL,
        kind         text        NOT NULL CHECK (kind IN ('statement', 'final_notice', 'collections')),
        reason       text,
        step_date    date        NOT NULL,
        statement_id uuid REFERENCES statements (id),
        plan_id      uuid REFERENCES payment_plans (id),
        notice_id    uuid,
        recorded_at  timestamptz NOT NULL,
        PRIMARY KEY (sequence_id, step)
    )
    """,
    "CREATE INDEX dunning_steps_account ON dunning_steps (account_id, recorded_at)",
    # A broken plan defaults: the account gets the final notice, then collections.
    "ALTER TABLE payment_plans DROP CONSTRAINT payment_plans_status_check",
    """ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_status_check
       CHECK (status IN ('active', 'completed', 'defaulted', 'collections', 'cancelled'))""",
    # A referral can be recalled; an account may be referred again after a recall.
    "ALTER TABLE collections_referrals ADD COLUMN recalled_at timestamptz",
    """ALTER TABLE collections_referrals ADD COLUMN recall_reason text
       CHECK (recall_reason IN ('patient_payment', 'insurance_payment', 'dispute'))""",
    "ALTER TABLE collections_referrals ADD COLUMN recall_amount numeric(14,2)",
    "DROP INDEX collections_one_per_account",
    """CREATE UNIQUE INDEX collections_one_open_per_account ON collections_referrals (account_id)
       WHERE recalled_at IS NULL""",
    "CREATE INDEX collections_recalled ON collections_referrals (recalled_at) WHERE recalled_at IS NOT NULL",
    """
    CREATE TABLE account_disputes (
        id          uuid PRIMARY KEY,
        account_id  text        NOT NULL,
        reason      text        NOT NULL,
        opened_by   text        NOT NULL,
        opened_at   timestamptz NOT NULL,
        resolved_at timestamptz,
        resolved_by text,
        resolution  text
    )
    """,
    "CREATE INDEX account_disputes_open ON account_disputes (account_id) WHERE resolved_at IS NULL",
    # Minimum necessary from encounter.completed: names, address, phone; no birth date, no ids.
    """
    CREATE TABLE encounter_parties (
        encounter_id    text PRIMARY KEY,
        account_id      text        NOT NULL,
        date_of_service date        NOT NULL,
        patient         jsonb       NOT NULL,
        guarantor       jsonb       NOT NULL,
        relationship    text        NOT NULL,
        received_at     timestamptz NOT NULL
    )
    """,
    "CREATE INDEX encounter_parties_account ON encounter_parties (account_id, date_of_service DESC)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("encounter_parties", "account_disputes", "dunning_steps", "dunning_sequences"):
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP INDEX collections_recalled")
    op.execute("DROP INDEX collections_one_open_per_account")
    for column in ("recall_amount", "recall_reason", "recalled_at"):
        op.execute(f"ALTER TABLE collections_referrals DROP COLUMN {column}")
    op.execute("CREATE UNIQUE INDEX collections_one_per_account ON collections_referrals (account_id)")
    op.execute("ALTER TABLE payment_plans DROP CONSTRAINT payment_plans_status_check")
    op.execute(
        "ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_status_check "
        "CHECK (status IN ('active', 'completed', 'collections', 'cancelled')) NOT VALID"
    )
