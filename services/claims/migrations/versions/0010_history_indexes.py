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

Open A/R (the KPIs' days in A/R) was a sum over every A/R row ever written, millions at a
million claims. ar_open_totals keeps that sum per payer, added to by a statement trigger on
ar_entries in the same transaction as the rows, so it is exact by construction: ar_entries is
append-only (UPDATE, DELETE and TRUNCATE are refused), so INSERT is the only change to follow.
The trigger adds one row per payer and statement, into one of 16 slots chosen by the backend
(pg_backend_pid() % 16), so concurrent transactions of the same payer (N claims instances,
the batched consumers) rarely wait on one row; the report sums the slots. The backfill takes a
SHARE lock on ar_entries for the seconds the first sum takes, so no row is counted twice or
missed.

CREATE INDEX CONCURRENTLY (shared.migrations.create_indexes_concurrently): a plain CREATE
INDEX on a million claims blocks every insert and status change for the minutes the build
takes, which a billing office would see as an outage.
"""

from alembic import op

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


SLOTS = 16


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ar_open_totals (
            payer_id text    NOT NULL,
            slot     integer NOT NULL,
            owed     numeric NOT NULL,
            PRIMARY KEY (payer_id, slot)
        )
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION ar_open_totals_add() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
            INSERT INTO ar_open_totals AS t (payer_id, slot, owed)
            SELECT payer_id, pg_backend_pid() % {SLOTS}, sum(amount) FROM added
             GROUP BY payer_id ORDER BY payer_id
            ON CONFLICT (payer_id, slot) DO UPDATE SET owed = t.owed + excluded.owed;
            RETURN NULL;
        END $$
        """  # noqa: S608 - a constant
    )
    op.execute("LOCK TABLE ar_entries IN SHARE MODE")
    op.execute(
        "CREATE TRIGGER ar_entries_open_totals AFTER INSERT ON ar_entries "
        "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ar_open_totals_add()"
    )
    op.execute(
        "INSERT INTO ar_open_totals (payer_id, slot, owed) "
        "SELECT payer_id, 0, sum(amount) FROM ar_entries GROUP BY payer_id"
    )
    create_indexes_concurrently(INDEXES)
    drop_indexes_concurrently(["claims_list"])


def downgrade() -> None:
    create_indexes_concurrently({"claims_list": "ON claims (created_at DESC, id DESC)"})
    drop_indexes_concurrently(list(INDEXES))
    op.execute("DROP TRIGGER ar_entries_open_totals ON ar_entries")
    op.execute("DROP FUNCTION ar_open_totals_add()")
    op.execute("DROP TABLE ar_open_totals")
