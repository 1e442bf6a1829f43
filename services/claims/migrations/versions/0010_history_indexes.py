"""Indexes for years of history (issue 16, item 9): every foreign key, and what the reports and
the list filters read.

Foreign keys (tests/shared/test_indexes.py checks every one has an index):
- claims.original_claim_id and claims.primary_claim_id point at another claim (a correction's
  original, a secondary claim's primary). Without an index, deleting or re-keying any claim
  made PostgreSQL's referential check read the whole claims table, twice. Nearly every claim
  has neither, so the indexes are partial (IS NOT NULL): tiny, and still used by the check,
  whose `= $1` implies non-null.
- appeals.denial_id (a denial's appeals).

The KPIs (`GET /v1/reports/kpis`) for a year read half a million claims of a million:
- claims_created (created_at, id) INCLUDE the columns the KPIs count (payer, status, first
  scrub, submissions, adjudication, charge): the year's claims come from the index alone
  (an index-only scan of ~100 bytes a claim instead of ~1.8 kB rows with their JSON and 837P).
  It leads with (created_at, id), so it also serves the claims list's keyset paging, newest
  first, and replaces claims_list (created_at DESC, id DESC): one index to maintain, not two.
- claim_status_history_setback (claim_id) WHERE to_status IN ('rejected', 'denied', 'partial'):
  the claims that were ever set back, which the first-pass rate excludes; a few per cent of
  the history, read whole instead of probing every claim's history.

The claims list's filters (`GET /v1/claims?payer_id=` / `?status=`), newest first: an index per
filter leading with it, then (created_at, id), reads exactly one page; the list index alone
would walk back through every other payer's or status's claims to fill a page of a rare one.
(patient_id has claims_patient; encounter_id its unique index.)

CREATE INDEX CONCURRENTLY (shared.migrations.create_indexes_concurrently): a plain CREATE
INDEX on a million claims blocks every insert and status change for the minutes the build
takes, which a billing office would see as an outage.
"""

from shared.migrations import create_indexes_concurrently, drop_indexes_concurrently

revision = "0010_history_indexes"
down_revision = "0009_dead_letters"

INDEXES = {
    "claims_original_claim": "ON claims (original_claim_id) WHERE original_claim_id IS NOT NULL",
    "claims_primary_claim": "ON claims (primary_claim_id) WHERE primary_claim_id IS NOT NULL",
    "appeals_denial": "ON appeals (denial_id)",
    "claims_created": (
        "ON claims (created_at, id) "
        "INCLUDE (payer_id, status, first_scrub_clean, submission_count, adjudicated_at, total_charge)"
    ),
    "claim_status_history_setback": (
        "ON claim_status_history (claim_id) WHERE to_status IN ('rejected', 'denied', 'partial')"
    ),
    "claims_payer_list": "ON claims (payer_id, created_at, id)",
    "claims_status_list": "ON claims (status, created_at, id)",
}


def upgrade() -> None:
    create_indexes_concurrently(INDEXES)
    drop_indexes_concurrently(["claims_list"])


def downgrade() -> None:
    create_indexes_concurrently({"claims_list": "ON claims (created_at DESC, id DESC)"})
    drop_indexes_concurrently(list(INDEXES))
