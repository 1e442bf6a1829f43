"""Issue 19, the front office as payments hears it: the registry's copy of each patient's and
guarantor's contact (`patient.updated`, highest revision kept), the holds tickets and
assistance applications put on an account (`account_hold.*`; a dispute hold opens a dispute
that names its ticket), the financial assistance adjustments (once per application, the ledger
row naming it) and the financing referrals."""

from alembic import op

from shared.tables import append_only

revision = "0017_front_office"
down_revision = "0016_money_limits"

STATEMENTS = [
    # Minimum necessary from patient.updated, as from encounter.completed: names, address, phone.
    """
    CREATE TABLE registry_parties (
        account_id   text PRIMARY KEY,
        revision     integer     NOT NULL CHECK (revision >= 1),
        patient      jsonb       NOT NULL,
        guarantor    jsonb       NOT NULL,
        relationship text        NOT NULL,
        changed_at   timestamptz NOT NULL,
        received_at  timestamptz NOT NULL
    )
    """,
    "ALTER TABLE account_disputes ADD COLUMN source_id uuid",
    "CREATE UNIQUE INDEX account_disputes_one_open_per_source ON account_disputes (source_id) "
    "WHERE source_id IS NOT NULL AND resolved_at IS NULL",
    """
    CREATE TABLE account_holds (
        id                uuid PRIMARY KEY,
        account_id        text        NOT NULL,
        reason            text        NOT NULL
                          CHECK (reason IN ('dispute', 'financial_assistance', 'financing')),
        source_id         uuid        NOT NULL,
        holds_statements  boolean     NOT NULL,
        holds_collections boolean     NOT NULL,
        placed_at         timestamptz NOT NULL,
        received_at       timestamptz NOT NULL,
        released_at       timestamptz,
        outcome           text
    )
    """,
    "CREATE UNIQUE INDEX account_holds_one_open_per_source ON account_holds (reason, source_id) "
    "WHERE released_at IS NULL",
    "CREATE INDEX account_holds_open ON account_holds (account_id) WHERE released_at IS NULL",
    "ALTER TABLE ledger_entries ADD COLUMN application_id uuid",
    """
    CREATE TABLE assistance_adjustments (
        application_id   uuid PRIMARY KEY,
        account_id       text          NOT NULL,
        tier             text          NOT NULL,
        discount_percent numeric(5, 2) NOT NULL,
        poverty_percent  numeric(7, 2) NOT NULL,
        guidelines_year  integer       NOT NULL,
        base             numeric(14, 2) NOT NULL,
        amount           numeric(14, 2) NOT NULL,
        decided_by       text          NOT NULL,
        approved_by      text          NOT NULL,
        decided_at       timestamptz   NOT NULL,
        posted_at        timestamptz   NOT NULL
    )
    """,
    *append_only("assistance_adjustments"),
    "CREATE INDEX assistance_adjustments_account ON assistance_adjustments (account_id)",
    """
    CREATE TABLE financing_referrals (
        referral_id uuid PRIMARY KEY,
        account_id  text           NOT NULL,
        partner_id  text           NOT NULL,
        amount      numeric(14, 2) NOT NULL,
        referred_by text           NOT NULL,
        referred_at timestamptz    NOT NULL,
        received_at timestamptz    NOT NULL
    )
    """,
    *append_only("financing_referrals"),
    "CREATE INDEX financing_referrals_account ON financing_referrals (account_id, referred_at)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("financing_referrals", "assistance_adjustments", "account_holds", "registry_parties"):
        op.execute(f"DROP TABLE {table}")
    op.execute("ALTER TABLE ledger_entries DROP COLUMN application_id")
    op.execute("DROP INDEX account_disputes_one_open_per_source")
    op.execute("ALTER TABLE account_disputes DROP COLUMN source_id")
