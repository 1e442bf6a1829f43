"""835 remittances and postings, claim copies, payers, fee schedules, refunds, statements,
payment plans and collections; the ledger learns buckets (insurance/patient) and items.
"""

from alembic import op

from shared.tables import append_only

revision = "0003"
down_revision = "0002"

STATEMENTS = [
    "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_entry_type_check",
    """ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_entry_type_check CHECK (entry_type IN
       ('charge', 'payment', 'insurance_payment', 'adjustment', 'transfer', 'refund'))""",
    # Which party owes the amount: charges sit with insurance until the 835 says otherwise.
    """ALTER TABLE ledger_entries ADD COLUMN bucket text NOT NULL DEFAULT 'patient'
       CHECK (bucket IN ('insurance', 'patient'))""",
    # The open item the entry belongs to (a claim, or a manual charge); NULL = unapplied.
    "ALTER TABLE ledger_entries ADD COLUMN item_id uuid",
    "ALTER TABLE ledger_entries ADD COLUMN claim_id uuid",
    "ALTER TABLE ledger_entries ADD COLUMN posting_id uuid",
    "ALTER TABLE ledger_entries ADD COLUMN refund_id uuid",
    "ALTER TABLE ledger_entries ADD COLUMN group_code text",
    "ALTER TABLE ledger_entries ADD COLUMN reason_code text",
    "ALTER TABLE ledger_entries ADD COLUMN service_date date",
    "CREATE INDEX ledger_entries_item ON ledger_entries (account_id, item_id)",
    "CREATE INDEX ledger_entries_posting ON ledger_entries (posting_id) WHERE posting_id IS NOT NULL",
    "CREATE INDEX ledger_entries_payment ON ledger_entries (payment_id) WHERE payment_id IS NOT NULL",
    """
    CREATE TABLE payers (
        payer_id    text PRIMARY KEY,
        name        text   NOT NULL,
        identifiers text[] NOT NULL DEFAULT '{}'
    )
    """,
    """INSERT INTO payers (payer_id, name, identifiers) VALUES
       ('SBX001', 'Sandbox Health Plan', '{SBX001}'),
       ('SBX002', 'Sandbox Mutual', '{SBX002}'),
       ('SBX003', 'Sandbox Medicare-like', '{SBX003}')""",
    """
    CREATE TABLE claim_copies (
        claim_id               uuid PRIMARY KEY,
        patient_control_number text          NOT NULL,
        patient_id             text          NOT NULL,
        account_id             text          NOT NULL,
        payer_id               text          NOT NULL,
        coverage_order         text          NOT NULL,
        frequency_code         text          NOT NULL,
        total_charge           numeric(14,2) NOT NULL,
        date_of_service        date,
        lines                  jsonb         NOT NULL DEFAULT '[]',
        submitted_at           timestamptz   NOT NULL,
        received_at            timestamptz   NOT NULL DEFAULT clock_timestamp()
    )
    """,
    "CREATE INDEX claim_copies_pcn ON claim_copies (patient_control_number, submitted_at DESC)",
    """
    CREATE TABLE remittances (
        id               uuid PRIMARY KEY,
        payer_id         text          NOT NULL,
        trace_number     text          NOT NULL,
        trace_originator text,
        control_number   text,
        handling_code    text          NOT NULL,
        method           text          NOT NULL,
        amount           numeric(14,2) NOT NULL,
        credit_debit     text          NOT NULL,
        paid_date        date,
        production_date  date,
        claims_paid      numeric(14,2) NOT NULL,
        provider_adjustments numeric(14,2) NOT NULL,
        warnings         jsonb         NOT NULL DEFAULT '[]',
        source           text          NOT NULL,
        received_by      text          NOT NULL,
        received_at      timestamptz   NOT NULL,
        UNIQUE (payer_id, trace_number)
    )
    """,
    "CREATE INDEX remittances_paid_date ON remittances (paid_date)",
    # The raw 835 (PHI): its own table, read only through an audited, separately scoped route.
    """
    CREATE TABLE remittance_files (
        remittance_id uuid PRIMARY KEY REFERENCES remittances (id),
        sha256        text NOT NULL,
        x12           text NOT NULL
    )
    """,
    """
    CREATE TABLE claim_postings (
        id                         uuid PRIMARY KEY,
        remittance_id              uuid          NOT NULL REFERENCES remittances (id),
        claim_id                   uuid          NOT NULL,
        account_id                 text          NOT NULL,
        payer_id                   text          NOT NULL,
        patient_control_number     text          NOT NULL,
        payer_claim_control_number text,
        status_code                text          NOT NULL,
        charge                     numeric(14,2) NOT NULL,
        paid                       numeric(14,2) NOT NULL,
        allowed                    numeric(14,2) NOT NULL,
        patient_responsibility     numeric(14,2) NOT NULL,
        adjustments                jsonb         NOT NULL,
        remark_codes               jsonb         NOT NULL,
        lines                      jsonb         NOT NULL,
        reverses_posting_id        uuid UNIQUE REFERENCES claim_postings (id),
        matched_by                 text          NOT NULL,
        clp_position               integer       NOT NULL,  -- segment position of the CLP in its file
        posted_at                  timestamptz   NOT NULL
    )
    """,
    "CREATE INDEX claim_postings_claim ON claim_postings (claim_id, posted_at)",
    "CREATE INDEX claim_postings_remittance ON claim_postings (remittance_id)",
    *append_only("claim_postings"),
    """
    CREATE TABLE unmatched_claims (
        id                         uuid PRIMARY KEY,
        remittance_id              uuid          NOT NULL REFERENCES remittances (id),
        patient_control_number     text          NOT NULL,
        payer_claim_control_number text,
        status_code                text          NOT NULL,
        charge                     numeric(14,2) NOT NULL,
        paid                       numeric(14,2) NOT NULL,
        patient_responsibility     numeric(14,2) NOT NULL,
        reason                     text          NOT NULL,
        claim                      jsonb         NOT NULL,
        created_at                 timestamptz   NOT NULL,
        resolved_posting_id        uuid REFERENCES claim_postings (id),
        resolved_by                text,
        resolved_at                timestamptz
    )
    """,
    "CREATE INDEX unmatched_open ON unmatched_claims (created_at) WHERE resolved_at IS NULL",
    "CREATE INDEX unmatched_pcn ON unmatched_claims (patient_control_number) WHERE resolved_at IS NULL",
    """
    CREATE TABLE provider_adjustments (
        id                 bigserial PRIMARY KEY,
        remittance_id      uuid          NOT NULL REFERENCES remittances (id),
        provider_id        text          NOT NULL,
        fiscal_period_date date,
        reason_code        text          NOT NULL,
        reference          text          NOT NULL,
        amount             numeric(14,2) NOT NULL
    )
    """,
    """
    CREATE TABLE fee_schedules (
        id             uuid PRIMARY KEY,
        payer_id       text        NOT NULL,
        effective_date date        NOT NULL,
        loaded_by      text        NOT NULL,
        loaded_at      timestamptz NOT NULL
    )
    """,
    "CREATE INDEX fee_schedules_payer ON fee_schedules (payer_id, effective_date DESC, loaded_at DESC)",
    """
    CREATE TABLE fee_schedule_entries (
        fee_schedule_id uuid          NOT NULL REFERENCES fee_schedules (id),
        code            text          NOT NULL,
        modifier        text          NOT NULL DEFAULT '',
        allowed         numeric(14,2) NOT NULL CHECK (allowed >= 0),
        PRIMARY KEY (fee_schedule_id, code, modifier)
    )
    """,
    """
    CREATE TABLE underpayments (
        id               uuid PRIMARY KEY,
        posting_id       uuid          NOT NULL REFERENCES claim_postings (id),
        claim_id         uuid          NOT NULL,
        payer_id         text          NOT NULL,
        code             text          NOT NULL,
        modifier         text          NOT NULL,
        units            numeric(10,2) NOT NULL,
        expected_allowed numeric(14,2) NOT NULL,
        actual_allowed   numeric(14,2) NOT NULL,
        variance         numeric(14,2) NOT NULL,
        detected_at      timestamptz   NOT NULL
    )
    """,
    """
    CREATE TABLE refunds (
        id          uuid PRIMARY KEY,
        payment_id  uuid          NOT NULL REFERENCES patient_payments (id),
        amount      numeric(14,2) NOT NULL CHECK (amount > 0),
        reason      text,
        refunded_by text          NOT NULL,
        refunded_at timestamptz   NOT NULL
    )
    """,
    """
    CREATE TABLE statements (
        id             uuid PRIMARY KEY,
        account_id     text          NOT NULL,
        statement_date date          NOT NULL,
        due_date       date          NOT NULL,
        amount_due     numeric(14,2) NOT NULL,
        content        jsonb         NOT NULL,
        issued_at      timestamptz   NOT NULL,
        late_notified_at timestamptz,
        UNIQUE (account_id, statement_date)
    )
    """,
    """
    CREATE TABLE payment_plans (
        id                uuid PRIMARY KEY,
        account_id        text          NOT NULL,
        total             numeric(14,2) NOT NULL CHECK (total > 0),
        installment_count integer       NOT NULL CHECK (installment_count > 0),
        frequency         text          NOT NULL,
        first_due_date    date          NOT NULL,
        status            text          NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'completed', 'collections', 'cancelled')),
        created_at        timestamptz   NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX payment_plans_one_active ON payment_plans (account_id) WHERE status = 'active'",
    """
    CREATE TABLE plan_installments (
        plan_id          uuid          NOT NULL REFERENCES payment_plans (id),
        number           integer       NOT NULL,
        due_date         date          NOT NULL,
        amount           numeric(14,2) NOT NULL,
        paid             numeric(14,2) NOT NULL DEFAULT 0,
        due_notified_at  timestamptz,
        late_notified_at timestamptz,
        PRIMARY KEY (plan_id, number)
    )
    """,
    """
    CREATE TABLE collections_referrals (
        id          uuid PRIMARY KEY,
        account_id  text          NOT NULL,
        plan_id     uuid,
        reason      text          NOT NULL,
        balance     numeric(14,2) NOT NULL,
        agency      text          NOT NULL,
        referred_at timestamptz   NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX collections_one_per_account ON collections_referrals (account_id)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "collections_referrals",
        "plan_installments",
        "payment_plans",
        "statements",
        "refunds",
        "underpayments",
        "fee_schedule_entries",
        "fee_schedules",
        "provider_adjustments",
        "unmatched_claims",
        "claim_postings",
        "remittance_files",
        "remittances",
        "claim_copies",
        "payers",
    ):
        op.execute(f"DROP TABLE {table}")
    for index in ("ledger_entries_item", "ledger_entries_posting", "ledger_entries_payment"):
        op.execute(f"DROP INDEX {index}")
    for column in (
        "bucket",
        "item_id",
        "claim_id",
        "posting_id",
        "refund_id",
        "group_code",
        "reason_code",
        "service_date",
    ):
        op.execute(f"ALTER TABLE ledger_entries DROP COLUMN {column}")
    # Rows of the new kinds would break the old constraint; NOT VALID keeps the history as is.
    op.execute("ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_entry_type_check")
    op.execute(
        "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_entry_type_check "
        "CHECK (entry_type IN ('charge', 'payment', 'adjustment', 'refund')) NOT VALID"
    )
