"""The patient registry: patients, coverages, their history, discrepancies.

- `patients`: one row per patient, keyed by the practice's (EHR's) patient id, with the
  demographics and guarantor as typed (jsonb, PHI), the name and birth date as columns for
  search, and `revision`, the one per-patient counter patient.updated and coverage.updated
  share (bumped under the row's lock, so two writers never publish the same revision).
- `coverages`: the patient's coverages with their coordination-of-benefits order and dates.
- `patient_history`: every change, append-only (a trigger refuses UPDATE, DELETE, TRUNCATE):
  who, when, why (reason code and note), which fields, before and after (PHI, this schema only).
- `discrepancies`: what a payer's 271 said differently (eligibility.discrepancy_found), once
  per check, and how staff decided it.
"""

from alembic import op

from shared.tables import append_only

revision = "0002_patients"
down_revision = "0001_frontoffice"

STATEMENTS = [
    """
    CREATE TABLE patients (
        patient_id   text PRIMARY KEY,
        id           uuid        NOT NULL UNIQUE,
        revision     integer     NOT NULL CHECK (revision >= 1),
        first_name   text        NOT NULL,
        last_name    text        NOT NULL,
        birth_date   date        NOT NULL,
        demographics jsonb       NOT NULL,
        guarantor    jsonb       NOT NULL,
        created_by   text        NOT NULL,
        created_at   timestamptz NOT NULL,
        updated_at   timestamptz NOT NULL
    )
    """,
    "CREATE INDEX patients_name ON patients (lower(last_name), lower(first_name))",
    "CREATE INDEX patients_birth_date ON patients (birth_date)",
    "CREATE INDEX patients_created ON patients (created_at DESC, id DESC)",
    """
    CREATE TABLE coverages (
        coverage_id       uuid PRIMARY KEY,
        patient_id        text NOT NULL REFERENCES patients (patient_id),
        coverage_order    text NOT NULL CHECK (coverage_order IN ('primary', 'secondary', 'tertiary')),
        payer_id          text NOT NULL,
        plan              text,
        member_id         text NOT NULL,
        group_number      text,
        relationship_code text NOT NULL DEFAULT '18',
        subscriber        jsonb,
        effective_date    date NOT NULL,
        termination_date  date CHECK (termination_date IS NULL OR termination_date >= effective_date),
        created_at        timestamptz NOT NULL,
        updated_at        timestamptz NOT NULL
    )
    """,
    "CREATE INDEX coverages_patient ON coverages (patient_id, coverage_order)",
    """
    CREATE TABLE patient_history (
        id          bigserial PRIMARY KEY,
        patient_id  text        NOT NULL REFERENCES patients (patient_id),
        revision    integer     NOT NULL,
        entity      text        NOT NULL CHECK (entity IN ('patient', 'coverage')),
        coverage_id uuid,
        kind        text        NOT NULL,
        reason      text        NOT NULL,
        note        text,
        fields      jsonb       NOT NULL,  -- names of the fields changed (a list)
        before      jsonb,
        after       jsonb,
        changed_by  text        NOT NULL,
        changed_at  timestamptz NOT NULL
    )
    """,
    "CREATE INDEX patient_history_patient ON patient_history (patient_id, changed_at DESC, id DESC)",
    *append_only("patient_history"),
    """
    CREATE TABLE discrepancies (
        id               uuid PRIMARY KEY,
        check_id         uuid        NOT NULL UNIQUE,
        patient_id       text        NOT NULL,
        payer_id         text        NOT NULL,
        registry_revision integer    NOT NULL,
        fields           jsonb       NOT NULL,
        status           text        NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'accepted', 'rejected')),
        found_at         timestamptz NOT NULL,
        created_at       timestamptz NOT NULL,
        decided_by       text,
        decided_at       timestamptz,
        note             text,
        outcome          jsonb,
        applied_revision integer
    )
    """,
    "CREATE INDEX discrepancies_status ON discrepancies (status, created_at DESC, id DESC)",
    "CREATE INDEX discrepancies_patient ON discrepancies (patient_id, created_at DESC)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("discrepancies", "patient_history", "coverages", "patients"):
        op.execute(f"DROP TABLE {table}")
