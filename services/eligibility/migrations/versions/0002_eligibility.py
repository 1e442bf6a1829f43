"""Coverage checks, raw X12 (encrypted, separate table), batches, fee schedules, authorizations."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE batches (
            id            uuid PRIMARY KEY,
            requested_by  text        NOT NULL,
            total         integer     NOT NULL CHECK (total > 0),
            created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    # One row per check. PHI of the request (names, birth date, member id) is kept only
    # encrypted (request_enc); cache_key is a keyed hash of member, payer, service types
    # and date. `state` is the work state; `status` the coverage answer.
    op.execute(
        """
        CREATE TABLE checks (
            id                 uuid PRIMARY KEY,
            patient_id         text        NOT NULL,
            payer_id           text        NOT NULL,
            provider_npi       text        NOT NULL,
            service_type_codes jsonb       NOT NULL,
            date_of_service    date        NOT NULL,
            member_hint        text        NOT NULL,
            cache_key          text        NOT NULL,
            request_enc        bytea,
            batch_id           uuid REFERENCES batches (id),
            state              text        NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'done', 'failed')),
            status             text CHECK (status IN ('active', 'inactive', 'error')),
            result             jsonb,
            error              jsonb,
            cached_from        uuid,
            attempts           integer     NOT NULL DEFAULT 0,
            lease_until        timestamptz,
            requested_by       text        NOT NULL,
            created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
            completed_at       timestamptz
        )
        """
    )
    op.execute("CREATE INDEX checks_pending ON checks (created_at) WHERE state = 'pending'")
    op.execute("CREATE INDEX checks_cache ON checks (cache_key, completed_at DESC) WHERE state = 'done'")
    op.execute("CREATE INDEX checks_patient ON checks (patient_id, completed_at DESC) WHERE state = 'done'")
    op.execute("CREATE INDEX checks_batch ON checks (batch_id, state)")
    # Raw interchanges apart from the checks, so reading a check never loads them: only the
    # `eligibility:x12` scope reads this table through the API, and every read is audited.
    op.execute(
        """
        CREATE TABLE raw_x12 (
            check_id    uuid PRIMARY KEY REFERENCES checks (id),
            x12_270     bytea       NOT NULL,
            x12_271     bytea,
            created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE fee_schedule_entries (
            payer_id         text          NOT NULL,
            code             text          NOT NULL,
            modifier         text          NOT NULL DEFAULT '',
            effective_date   date          NOT NULL,
            allowed          numeric(14,2) NOT NULL CHECK (allowed >= 0),
            fee_schedule_id  uuid          NOT NULL,
            received_at      timestamptz   NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (payer_id, code, modifier, effective_date)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE authorizations (
            id              uuid PRIMARY KEY,
            patient_id      text        NOT NULL,
            payer_id        text        NOT NULL,
            number          text        NOT NULL,
            kind            text        NOT NULL CHECK (kind IN ('prior_authorization', 'referral')),
            service_codes   jsonb       NOT NULL,
            start_date      date        NOT NULL,
            end_date        date        NOT NULL,
            visits_allowed  integer CHECK (visits_allowed >= 0),
            visits_used     integer     NOT NULL DEFAULT 0 CHECK (visits_used >= 0),
            recorded_by     text        NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
            UNIQUE (payer_id, number),
            CHECK (end_date >= start_date)
        )
        """
    )
    op.execute("CREATE INDEX authorizations_patient ON authorizations (patient_id)")
    op.execute("CREATE INDEX authorizations_end ON authorizations (end_date)")
    # authorization.expiring goes out once per authorization and threshold ('days'/'visits').
    op.execute(
        """
        CREATE TABLE authorization_alerts (
            authorization_id uuid        NOT NULL REFERENCES authorizations (id),
            threshold        text        NOT NULL CHECK (threshold IN ('days', 'visits')),
            sent_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (authorization_id, threshold)
        )
        """
    )


def downgrade() -> None:
    for table in (
        "authorization_alerts",
        "authorizations",
        "fee_schedule_entries",
        "raw_x12",
        "checks",
        "batches",
    ):
        op.execute(f"DROP TABLE {table}")
