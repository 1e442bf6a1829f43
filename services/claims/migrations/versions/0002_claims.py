"""Claims, append-only status history, denials, appeals, eligibility and authorization copies."""

from alembic import op

from shared.tables import append_only

revision = "0002"
down_revision = "0001"

STATUSES = "'draft','ready','submitted','accepted','rejected','paid','partial','denied','appealed','closed'"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE claims (
            id                     uuid PRIMARY KEY,
            patient_control_number varchar(17)   NOT NULL UNIQUE,
            status                 text          NOT NULL CHECK (status IN ({STATUSES})),
            patient_id             text          NOT NULL,
            payer_id               text          NOT NULL,
            coverage_order         text          NOT NULL
                CHECK (coverage_order IN ('primary','secondary','tertiary')),
            frequency_code         text          NOT NULL CHECK (frequency_code IN ('1','7','8')),
            data                   jsonb         NOT NULL,
            total_charge           numeric(14,2) NOT NULL CHECK (total_charge >= 0),
            date_of_service        date          NOT NULL,
            encounter_id           text UNIQUE,
            original_claim_id      uuid REFERENCES claims (id),
            primary_claim_id       uuid REFERENCES claims (id),
            payer_claim_control_number text,
            x12_837                text,
            scrub                  jsonb,
            first_scrub_clean      boolean,
            submission_count       integer       NOT NULL DEFAULT 0,
            paid_amount            numeric(14,2),
            allowed_amount         numeric(14,2),
            patient_responsibility numeric(14,2),
            adjudication           jsonb,
            created_by             text          NOT NULL,
            created_at             timestamptz   NOT NULL,
            updated_at             timestamptz   NOT NULL,
            first_submitted_at     timestamptz,
            submitted_at           timestamptz,
            adjudicated_at         timestamptz,
            followup_published_at  timestamptz
        )
        """
    )
    op.execute("CREATE INDEX claims_list ON claims (created_at DESC, id DESC)")
    op.execute("CREATE INDEX claims_patient ON claims (patient_id, payer_id, date_of_service)")
    op.execute(
        "CREATE INDEX claims_open ON claims (status, submitted_at) WHERE status IN ('submitted','accepted')"
    )
    op.execute(
        """
        CREATE TABLE claim_status_history (
            id           bigserial PRIMARY KEY,
            claim_id     uuid        NOT NULL REFERENCES claims (id),
            from_status  text,
            to_status    text        NOT NULL,
            actor        text        NOT NULL,
            reason       text,
            changed_at   timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX claim_status_history_claim ON claim_status_history (claim_id, id)")
    for statement in append_only("claim_status_history"):
        op.execute(statement)
    op.execute(
        """
        CREATE TABLE eligibility_copies (
            check_id        uuid PRIMARY KEY,
            patient_id      text        NOT NULL,
            payer_id        text        NOT NULL,
            status          text        NOT NULL,
            date_of_service date        NOT NULL,
            coverage_start  date,
            coverage_end    date,
            other_payers    jsonb       NOT NULL DEFAULT '[]',
            prior_auth_service_types jsonb NOT NULL DEFAULT '[]',
            checked_at      timestamptz NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX eligibility_copies_patient ON eligibility_copies (patient_id, payer_id, checked_at)"
    )
    op.execute(
        """
        CREATE TABLE authorization_copies (
            authorization_id uuid PRIMARY KEY,
            patient_id       text    NOT NULL,
            payer_id         text    NOT NULL,
            number           text    NOT NULL,
            kind             text    NOT NULL,
            service_codes    jsonb   NOT NULL DEFAULT '[]',
            start_date       date    NOT NULL,
            end_date         date    NOT NULL,
            visits_allowed   integer,
            visits_used      integer NOT NULL DEFAULT 0
        )
        """
    )
    op.execute("CREATE INDEX authorization_copies_patient ON authorization_copies (patient_id, payer_id)")
    op.execute(
        """
        CREATE TABLE denials (
            id              uuid PRIMARY KEY,
            claim_id        uuid          NOT NULL REFERENCES claims (id),
            payer_id        text          NOT NULL,
            patient_id      text          NOT NULL,
            reason_code     text          NOT NULL,
            group_code      text          NOT NULL,
            adjustments     jsonb         NOT NULL,
            remark_codes    jsonb         NOT NULL DEFAULT '[]',
            action          text          NOT NULL
                CHECK (action IN ('correct_and_resubmit','appeal','bill_patient','write_off')),
            denied_amount   numeric(14,2) NOT NULL,
            payer_claim_control_number text,
            status          text          NOT NULL CHECK (status IN ('open','assigned','resolved')),
            assignee        text,
            resolution      text,
            denied_at       timestamptz   NOT NULL,
            resolved_at     timestamptz
        )
        """
    )
    op.execute("CREATE INDEX denials_queue ON denials (status, denied_at)")
    op.execute("CREATE INDEX denials_claim ON denials (claim_id)")
    op.execute(
        """
        CREATE TABLE appeals (
            id           uuid PRIMARY KEY,
            claim_id     uuid        NOT NULL REFERENCES claims (id),
            denial_id    uuid        NOT NULL REFERENCES denials (id),
            letter       text        NOT NULL,
            status       text        NOT NULL CHECK (status IN ('filed','won','lost')),
            outcome_note text,
            filed_by     text        NOT NULL,
            filed_at     timestamptz NOT NULL,
            decided_at   timestamptz
        )
        """
    )
    op.execute("CREATE INDEX appeals_claim ON appeals (claim_id)")
    op.execute("CREATE SEQUENCE interchange_control_numbers MINVALUE 1 MAXVALUE 999999999 CYCLE")


def downgrade() -> None:
    op.execute("DROP SEQUENCE interchange_control_numbers")
    for table in (
        "appeals",
        "denials",
        "authorization_copies",
        "eligibility_copies",
        "claim_status_history",
        "claims",
    ):
        op.execute(f"DROP TABLE {table}")
