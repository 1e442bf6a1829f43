"""Bank deposits (from BAI2 or CSV bank files) and their matches to 835s or card settlement
batches; patient card payments learn their processor's settlement batch id.

Reconciliation used to read the "deposit" from the 835's own BPR, so it always tied. Now the
bank's file says what arrived, and each deposit is matched to what should have arrived.
"""

from alembic import op

revision = "0010"
down_revision = "0004"  # revisions are numbered by branch; the chain is 0004, 0010, 0007, 0008, 0009, 0005

STATEMENTS = [
    # Every bank file as received, kept before anything acts on it (refused ones too). The
    # same bytes twice are one file: importing it again is a no-op.
    """
    CREATE TABLE bank_deposit_files (
        id            uuid PRIMARY KEY,
        sha256        text        NOT NULL UNIQUE,
        format        text        NOT NULL CHECK (format IN ('bai2', 'csv')),
        content       text        NOT NULL,
        status        text        NOT NULL CHECK (status IN ('received', 'imported', 'refused')),
        errors        jsonb       NOT NULL DEFAULT '[]',
        deposit_count integer,      -- deposits imported
        repeated_count integer,     -- deposits skipped: their bank reference came in an earlier file
        received_by   text        NOT NULL,
        received_at   timestamptz NOT NULL,
        imported_at   timestamptz
    )
    """,
    "CREATE INDEX bank_deposit_files_received ON bank_deposit_files (received_at, id)",
    # One row per credit or debit the bank reported (a BAI2 16 record, a CSV row).
    """
    CREATE TABLE bank_deposits (
        id                 uuid PRIMARY KEY,
        file_id            uuid          NOT NULL REFERENCES bank_deposit_files (id),
        record             integer       NOT NULL,  -- line of the 16 record, or CSV row
        bank_date          date          NOT NULL,
        amount             numeric(14,2) NOT NULL,  -- credit positive, debit negative
        kind               text          NOT NULL CHECK (kind IN ('eft', 'check', 'card', 'other')),
        type_code          text          NOT NULL,
        account_number     text,
        trace_number       text,     -- TRN02 of the ACH addenda (CORE reassociation)
        trace_originator   text,     -- its TRN03, the payer's originating company id
        check_number       text,
        batch_id           text,
        bank_reference     text,
        customer_reference text,
        description        text,
        created_at         timestamptz   NOT NULL
    )
    """,
    "CREATE INDEX bank_deposits_bank_date ON bank_deposits (bank_date)",
    "CREATE INDEX bank_deposits_created ON bank_deposits (created_at, id)",
    "CREATE INDEX bank_deposits_trace ON bank_deposits (trace_number) WHERE trace_number IS NOT NULL",
    # A bank reference number is the bank's own id of a transaction: a previous-day file that
    # repeats an intraday file's transactions does not import them twice.
    """CREATE UNIQUE INDEX bank_deposits_bank_reference
       ON bank_deposits (account_number, bank_date, bank_reference)
       WHERE bank_reference IS NOT NULL AND account_number IS NOT NULL""",
    # What a deposit was matched to: an 835 (remittance) or a card settlement batch. A match
    # ends (unmatched by hand, with a reason) instead of being deleted; at most one current
    # match per deposit, per remittance and per batch.
    """
    CREATE TABLE deposit_matches (
        id              uuid PRIMARY KEY,
        deposit_id      uuid          NOT NULL REFERENCES bank_deposits (id),
        remittance_id   uuid REFERENCES remittances (id),
        card_batch      text,
        rule            text          NOT NULL
            CHECK (rule IN ('eft_trace', 'check_number', 'card_batch', 'manual')),
        status          text          NOT NULL CHECK (status IN ('matched', 'discrepancy')),
        deposit_amount  numeric(14,2) NOT NULL,
        expected_amount numeric(14,2) NOT NULL,
        reason          text,
        matched_by      text          NOT NULL,
        matched_at      timestamptz   NOT NULL,
        ended_at        timestamptz,
        ended_by        text,
        end_reason      text,
        CHECK ((remittance_id IS NULL) <> (card_batch IS NULL))
    )
    """,
    "CREATE UNIQUE INDEX deposit_matches_deposit ON deposit_matches (deposit_id) WHERE ended_at IS NULL",
    """CREATE UNIQUE INDEX deposit_matches_remittance ON deposit_matches (remittance_id)
       WHERE ended_at IS NULL AND remittance_id IS NOT NULL""",
    """CREATE UNIQUE INDEX deposit_matches_batch ON deposit_matches (card_batch)
       WHERE ended_at IS NULL AND card_batch IS NOT NULL""",
    # The card processor's settlement batch a card payment went out in (what the bank's
    # deposit names). Card payments before this migration are in their UTC posting day's batch.
    "ALTER TABLE patient_payments ADD COLUMN settlement_batch text",
    """UPDATE patient_payments SET settlement_batch = to_char(posted_at AT TIME ZONE 'UTC', 'YYYYMMDD')
       WHERE method = 'card'""",
    """CREATE INDEX patient_payments_settlement_batch ON patient_payments (settlement_batch)
       WHERE settlement_batch IS NOT NULL""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX patient_payments_settlement_batch")
    op.execute("ALTER TABLE patient_payments DROP COLUMN settlement_batch")
    for table in ("deposit_matches", "bank_deposits", "bank_deposit_files"):
        op.execute(f"DROP TABLE {table}")
