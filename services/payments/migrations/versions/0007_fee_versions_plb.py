"""Fee schedule versions, the underpayment lifecycle, PLB adjustments tied to claims and
forward balances (issue 15 items 7-9).

* `fee_schedules.version`: 1, 2, 3... per payer in upload order (existing rows numbered by
  `loaded_at`); an upload adds a version, none is replaced.
* `underpayments`: a status (open → disputed → recovered | accepted) with what each step
  said, the fee schedule version and date of service the line was checked against, and an
  append-only history of the transitions.
* `provider_adjustments`: the claim and account a PLB names (PLB03-2), what the posting did
  with it (`effect`) and the forward balance it opened or recovered; `forward_balances`.
* `ledger_entries.provider_adjustment_id`: the PLB a ledger row came from.
"""

from alembic import op

from shared.tables import append_only

revision = "0007"
# The head on this branch after merging main (approvals 0004, bank deposits 0010); the lead re-chains.
down_revision = "0010"

STATEMENTS = [
    "ALTER TABLE fee_schedules ADD COLUMN version integer",
    """UPDATE fee_schedules f SET version = n.version FROM (
         SELECT id, row_number() OVER (PARTITION BY payer_id ORDER BY loaded_at, id) AS version
         FROM fee_schedules) n
       WHERE f.id = n.id""",
    "ALTER TABLE fee_schedules ALTER COLUMN version SET NOT NULL",
    "ALTER TABLE fee_schedules ADD CONSTRAINT fee_schedules_payer_version UNIQUE (payer_id, version)",
    """ALTER TABLE underpayments
         ADD COLUMN status text NOT NULL DEFAULT 'open'
           CHECK (status IN ('open', 'disputed', 'recovered', 'accepted')),
         ADD COLUMN fee_schedule_id uuid REFERENCES fee_schedules (id),
         ADD COLUMN service_date date,
         ADD COLUMN dispute_note text,
         ADD COLUMN dispute_reference text,
         ADD COLUMN recovered_amount numeric(14,2) CHECK (recovered_amount >= 0),
         ADD COLUMN accepted_amount numeric(14,2) CHECK (accepted_amount >= 0),
         ADD COLUMN accepted_reason text,
         ADD COLUMN updated_at timestamptz""",
    "CREATE INDEX underpayments_queue ON underpayments (status, detected_at, id)",
    "CREATE INDEX underpayments_claim ON underpayments (claim_id)",
    """
    CREATE TABLE underpayment_transitions (
        id              bigserial PRIMARY KEY,
        underpayment_id uuid          NOT NULL REFERENCES underpayments (id),
        from_status     text          NOT NULL,
        to_status       text          NOT NULL,
        actor           text          NOT NULL,
        note            text,
        reference       text,
        amount          numeric(14,2),
        posting_id      uuid,
        at              timestamptz   NOT NULL
    )
    """,
    "CREATE INDEX underpayment_transitions_item ON underpayment_transitions (underpayment_id, id)",
    *append_only("underpayment_transitions"),
    """
    CREATE TABLE forward_balances (
        id                         uuid PRIMARY KEY,
        payer_id                   text          NOT NULL,
        reference                  text          NOT NULL,
        claim_id                   uuid,
        account_id                 text,
        opened_amount              numeric(14,2) NOT NULL,
        open_amount                numeric(14,2) NOT NULL,
        opened_by_remittance_id    uuid          NOT NULL REFERENCES remittances (id),
        opened_at                  timestamptz   NOT NULL,
        recovered_by_remittance_id uuid          REFERENCES remittances (id),
        recovered_at               timestamptz
    )
    """,
    # One open forward balance per payer and reference: a later FB with that reference
    # recovers it (or adds to it) instead of opening another.
    """CREATE UNIQUE INDEX forward_balances_one_open ON forward_balances (payer_id, reference)
       WHERE recovered_at IS NULL AND reference <> ''""",
    "CREATE INDEX forward_balances_payer ON forward_balances (payer_id, opened_at, id)",
    """ALTER TABLE provider_adjustments
         ADD COLUMN claim_id uuid,
         ADD COLUMN account_id text,
         ADD COLUMN effect text NOT NULL DEFAULT 'provider'
           CHECK (effect IN ('provider', 'claim_ledger', 'claim_reference', 'forward_balance')),
         ADD COLUMN forward_balance_id uuid REFERENCES forward_balances (id)""",
    "CREATE INDEX provider_adjustments_remittance ON provider_adjustments (remittance_id)",
    """CREATE INDEX provider_adjustments_account ON provider_adjustments (account_id)
       WHERE account_id IS NOT NULL""",
    "ALTER TABLE ledger_entries ADD COLUMN provider_adjustment_id bigint",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE ledger_entries DROP COLUMN provider_adjustment_id")
    op.execute("DROP INDEX provider_adjustments_account")
    op.execute("DROP INDEX provider_adjustments_remittance")
    for column in ("forward_balance_id", "effect", "account_id", "claim_id"):
        op.execute(f"ALTER TABLE provider_adjustments DROP COLUMN {column}")
    op.execute("DROP TABLE forward_balances")
    op.execute("DROP TABLE underpayment_transitions")
    op.execute("DROP INDEX underpayments_claim")
    op.execute("DROP INDEX underpayments_queue")
    for column in (
        "updated_at",
        "accepted_reason",
        "accepted_amount",
        "recovered_amount",
        "dispute_reference",
        "dispute_note",
        "service_date",
        "fee_schedule_id",
        "status",
    ):
        op.execute(f"ALTER TABLE underpayments DROP COLUMN {column}")
    op.execute("ALTER TABLE fee_schedules DROP CONSTRAINT fee_schedules_payer_version")
    op.execute("ALTER TABLE fee_schedules DROP COLUMN version")
