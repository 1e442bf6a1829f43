"""Possible duplicate payments (issue 16, item 3): a non-reversal 835 claim whose adjudication
(payer + CLP01 + CLP07) already has a live posting is parked here, with both remittances,
instead of being posted a second time; and the index that finds a live posting by adjudication.

A resolution posts it after all (`posted`), records the payer's overpayment as a payer credit
balance (`payer_paid_twice`: a `forward_balances` row the payer takes back in a later 835, or
that the practice refunds), or dismisses it (`no_money`: the payer sent the 835 twice, the money
once)."""

from alembic import op

revision = "0012_possible_duplicates"
down_revision = "0011_dead_letters"

STATEMENTS = [
    """
    CREATE TABLE possible_duplicates (
        id                         uuid PRIMARY KEY,
        remittance_id              uuid          NOT NULL REFERENCES remittances (id),
        payer_id                   text          NOT NULL,
        patient_control_number     text          NOT NULL,
        payer_claim_control_number text          NOT NULL,  -- CLP07; '' when the 835 has none
        status_code                text          NOT NULL CHECK (status_code <> '22'),
        charge                     numeric(14,2) NOT NULL,
        paid                       numeric(14,2) NOT NULL,
        patient_responsibility     numeric(14,2) NOT NULL,
        claim                      jsonb         NOT NULL,  -- the whole 835 claim, to post it later
        original_posting_id        uuid          NOT NULL REFERENCES claim_postings (id),
        claim_id                   uuid          NOT NULL,
        account_id                 text          NOT NULL,
        reason                     text          NOT NULL,
        unmatched_id               uuid UNIQUE REFERENCES unmatched_claims (id),
        created_at                 timestamptz   NOT NULL,
        status                     text          NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'posted', 'payer_paid_twice', 'no_money')),
        resolution_reason          text,
        resolved_by                text,
        resolved_at                timestamptz,
        resolved_posting_id        uuid REFERENCES claim_postings (id),
        credit_balance_id          uuid REFERENCES forward_balances (id),
        refund_reference           text,
        refund_reason              text,
        refunded_by                text,
        refunded_at                timestamptz,
        CHECK ((status = 'open') = (resolved_at IS NULL)),
        CHECK (status <> 'posted' OR resolved_posting_id IS NOT NULL),
        CHECK (status <> 'payer_paid_twice' OR credit_balance_id IS NOT NULL),
        CHECK (refunded_at IS NULL OR status = 'payer_paid_twice')
    )
    """,
    "CREATE INDEX possible_duplicates_created ON possible_duplicates (created_at, id)",
    "CREATE INDEX possible_duplicates_open ON possible_duplicates (created_at) WHERE status = 'open'",
    "CREATE INDEX possible_duplicates_remittance ON possible_duplicates (remittance_id)",
    "CREATE INDEX possible_duplicates_original ON possible_duplicates (original_posting_id)",
    "CREATE INDEX possible_duplicates_claim ON possible_duplicates (claim_id)",
    # A claim's live posting by adjudication, looked up before every claim is posted.
    """CREATE INDEX claim_postings_adjudication
       ON claim_postings (patient_control_number, payer_id, payer_claim_control_number)""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX claim_postings_adjudication")
    op.execute("DROP TABLE possible_duplicates")
