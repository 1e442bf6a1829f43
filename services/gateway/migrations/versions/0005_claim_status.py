"""Claim-status inquiries (276/277 005010X212): one row per inquiry about a claim, made when
the claims service says a claim is past its payer's window (`claim.followup_due`, once per
(claim, due_at)) or when someone asks (POST /v1/claim-status/{claim_id}); the worker sends
due ones and records the answer it got."""

from alembic import op

revision = "0005"
down_revision = "0003"

STATEMENTS = [
    """
    CREATE TABLE status_inquiries (
        id                      uuid PRIMARY KEY,
        claim_id                uuid        NOT NULL,
        due_at                  timestamptz NOT NULL,
        patient_control_number  text,
        payer_id                text,
        partner_id              text,
        trace_number            text        NOT NULL UNIQUE,
        mode                    text CHECK (mode IN ('realtime', 'batch')),
        state                   text        NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sent', 'answered', 'failed', 'skipped')),
        reason                  text,
        requested_by            text        NOT NULL,
        attempts                integer     NOT NULL DEFAULT 0,
        next_at                 timestamptz,
        x12_276                 text,
        file_id                 uuid REFERENCES submission_files (id),
        answer_file_id          uuid REFERENCES received_files (id),
        answer                  jsonb       NOT NULL DEFAULT '[]',
        created_at              timestamptz NOT NULL,
        sent_at                 timestamptz,
        answered_at             timestamptz,
        UNIQUE (claim_id, due_at)
    )
    """,
    "CREATE INDEX status_inquiries_due ON status_inquiries (state, next_at) WHERE state = 'pending'",
    "CREATE INDEX status_inquiries_claim ON status_inquiries (claim_id, created_at DESC)",
    "CREATE INDEX status_inquiries_file ON status_inquiries (file_id) WHERE file_id IS NOT NULL",
    "CREATE INDEX status_inquiries_answer_file ON status_inquiries (answer_file_id) "
    "WHERE answer_file_id IS NOT NULL",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE status_inquiries")
