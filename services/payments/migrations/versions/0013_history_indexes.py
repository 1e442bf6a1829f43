"""Indexes for years of history (issue 16, item 9): every foreign key, and the collections
report's date range.

Foreign keys (tests/shared/test_indexes.py checks every one has an index): without an index on
the referencing column, deleting or re-keying the referenced row (a remittance replaced, a
deposit file removed, a posting reversed) makes PostgreSQL's referential check read the whole
referencing table, and a join from the parent to its children has no index to use. Nullable
keys that most rows leave empty get a partial index (IS NOT NULL): smaller, and still used by
the check, whose `= $1` implies non-null. The unique indexes deposit_matches already has are
partial on the *current* match (ended_at IS NULL), so the ended matches, which a delete of a
deposit or remittance must also find, need their own.

ledger_entries_occurred (occurred_at): `GET /v1/reports/collections` sums the ledger rows of a
range of days; without it every such report reads the whole ledger.

CREATE INDEX CONCURRENTLY (shared.migrations.create_indexes_concurrently): a plain CREATE INDEX
blocks writes to the table for as long as the build takes, which on years of ledger rows is
minutes of postings refused.
"""

from shared.migrations import create_indexes_concurrently, drop_indexes_concurrently

revision = "0013_history_indexes"
down_revision = "0011_dead_letters"

INDEXES = {
    "bank_deposits_file": "ON bank_deposits (file_id)",
    "deposit_matches_deposit_all": "ON deposit_matches (deposit_id)",
    "deposit_matches_remittance_all": "ON deposit_matches (remittance_id) WHERE remittance_id IS NOT NULL",
    "dunning_steps_plan": "ON dunning_steps (plan_id) WHERE plan_id IS NOT NULL",
    "dunning_steps_statement": "ON dunning_steps (statement_id) WHERE statement_id IS NOT NULL",
    "forward_balances_opened_by": "ON forward_balances (opened_by_remittance_id)",
    "forward_balances_recovered_by": (
        "ON forward_balances (recovered_by_remittance_id) WHERE recovered_by_remittance_id IS NOT NULL"
    ),
    "provider_adjustments_forward_balance": (
        "ON provider_adjustments (forward_balance_id) WHERE forward_balance_id IS NOT NULL"
    ),
    "received_sets_duplicate_of": "ON received_sets (duplicate_of) WHERE duplicate_of IS NOT NULL",
    "refunds_payment": "ON refunds (payment_id)",
    "remittances_received_set": "ON remittances (received_set_id) WHERE received_set_id IS NOT NULL",
    "underpayments_fee_schedule": "ON underpayments (fee_schedule_id) WHERE fee_schedule_id IS NOT NULL",
    "underpayments_posting": "ON underpayments (posting_id)",
    "unmatched_claims_remittance": "ON unmatched_claims (remittance_id)",
    "unmatched_claims_resolved_posting": (
        "ON unmatched_claims (resolved_posting_id) WHERE resolved_posting_id IS NOT NULL"
    ),
    "ledger_entries_occurred": "ON ledger_entries (occurred_at)",
}


def upgrade() -> None:
    create_indexes_concurrently(INDEXES)


def downgrade() -> None:
    drop_indexes_concurrently(list(INDEXES))
