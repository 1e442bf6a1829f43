"""Billing inquiries and disputes: tickets, their notes and history, the holds disputes place.

Owner: the tickets part. The service level's due time and breach state live on the ticket
(`due_at`, `breach_level`, `next_check_at`): the breach worker takes due rows with SKIP
LOCKED through the partial index on `next_check_at`.
"""

from alembic import op

revision = "0003_tickets"
down_revision = "0002_patients"

CATEGORIES = (
    "'balance_question', 'insurance_question', 'dispute', 'complaint', 'payment_arrangement', "
    "'financial_assistance'"
)
STATUSES = "'new', 'open', 'waiting_on_patient', 'waiting_on_payer', 'resolved', 'closed'"

STATEMENTS = [
    "CREATE SEQUENCE ticket_numbers START 1",
    f"""
    CREATE TABLE tickets (
        id               uuid PRIMARY KEY,
        number           text        NOT NULL UNIQUE,
        requester_kind   text        NOT NULL CHECK (requester_kind IN ('patient', 'practice')),
        requester_id     text        NOT NULL,
        patient_id       text,
        channel          text        NOT NULL CHECK (channel IN ('phone', 'email', 'portal')),
        category         text        NOT NULL CHECK (category IN ({CATEGORIES})),
        subject          text        NOT NULL,
        description      text        NOT NULL,
        account_id       text,
        claim_ids        uuid[]      NOT NULL DEFAULT '{{}}',
        statement_ids    uuid[]      NOT NULL DEFAULT '{{}}',
        status           text        NOT NULL CHECK (status IN ({STATUSES})),
        assignee_id      text,
        due_at           timestamptz NOT NULL,
        breach_level     integer     NOT NULL DEFAULT 0 CHECK (breach_level >= 0),
        next_check_at    timestamptz,
        breached_at      timestamptz,
        escalated_to     text,
        resolution_code  text,
        resolution_note  text,
        resolved_at      timestamptz,
        closed_at        timestamptz,
        created_by       text        NOT NULL,
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL,
        CHECK ((status IN ('resolved', 'closed')) = (resolution_code IS NOT NULL))
    )
    """,
    "CREATE INDEX tickets_created ON tickets (created_at DESC, id DESC)",
    "CREATE INDEX tickets_status ON tickets (status, category)",
    "CREATE INDEX tickets_assignee ON tickets (assignee_id) WHERE assignee_id IS NOT NULL",
    "CREATE INDEX tickets_account ON tickets (account_id) WHERE account_id IS NOT NULL",
    "CREATE INDEX tickets_next_check ON tickets (next_check_at) WHERE next_check_at IS NOT NULL",
    "CREATE INDEX tickets_resolved ON tickets (resolved_at) WHERE resolved_at IS NOT NULL",
    "CREATE INDEX tickets_breached ON tickets (breached_at) WHERE breached_at IS NOT NULL",
    """
    CREATE TABLE ticket_notes (
        id          uuid PRIMARY KEY,
        ticket_id   uuid        NOT NULL REFERENCES tickets (id),
        kind        text        NOT NULL,
        body        text,
        author      text        NOT NULL,
        created_at  timestamptz NOT NULL
    )
    """,
    "CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id, created_at)",
    """
    CREATE TABLE ticket_holds (
        id                 uuid PRIMARY KEY,
        ticket_id          uuid        NOT NULL REFERENCES tickets (id),
        account_id         text        NOT NULL,
        reason             text        NOT NULL CHECK (reason = 'dispute'),
        holds_statements   boolean     NOT NULL,
        holds_collections  boolean     NOT NULL,
        placed_at          timestamptz NOT NULL,
        released_at        timestamptz,
        outcome            text
    )
    """,
    # One hold at a time per ticket: a reopened dispute places a new one after the release.
    "CREATE UNIQUE INDEX ticket_holds_active ON ticket_holds (ticket_id) WHERE released_at IS NULL",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("ticket_holds", "ticket_notes", "tickets"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP SEQUENCE IF EXISTS ticket_numbers")
