"""Financial assistance: poverty guidelines (one version per year), the practice's policy tiers
(versioned by effective date), screenings, applications with their documents, financing
referrals. The shipped guidelines (services/frontoffice/data/fpg-*.json) are loaded here, so
a fresh platform screens without an upload; later years arrive through
`POST /v1/assistance/guidelines`.

Owner: the assistance part (financial assistance and patient financing).
"""

import json
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0004_assistance"
down_revision = "0003_tickets"

DATA = Path(__file__).resolve().parents[2] / "data"

STATEMENTS = [
    """
    CREATE TABLE poverty_guidelines (
        id              uuid PRIMARY KEY,
        year            integer     NOT NULL UNIQUE CHECK (year BETWEEN 2000 AND 2100),
        effective_date  date        NOT NULL,
        source          text        NOT NULL,
        regions         jsonb       NOT NULL,
        loaded_by       text        NOT NULL,
        loaded_at       timestamptz NOT NULL
    )
    """,
    "CREATE INDEX poverty_guidelines_effective ON poverty_guidelines (effective_date)",
    """
    CREATE TABLE assistance_policies (
        id              uuid PRIMARY KEY,
        effective_date  date        NOT NULL,
        tiers           jsonb       NOT NULL,
        note            text,
        set_by          text        NOT NULL,
        set_at          timestamptz NOT NULL
    )
    """,
    "CREATE INDEX assistance_policies_effective ON assistance_policies (effective_date, set_at)",
    """
    CREATE TABLE screenings (
        id                  uuid PRIMARY KEY,
        patient_id          text,
        household_size      integer       NOT NULL CHECK (household_size BETWEEN 1 AND 50),
        annual_income       numeric(14,2) NOT NULL CHECK (annual_income >= 0),
        region              text          NOT NULL,
        screening_date      date          NOT NULL,
        guidelines_id       uuid          NOT NULL REFERENCES poverty_guidelines (id),
        guidelines_year     integer       NOT NULL,
        guideline_amount    numeric(14,2) NOT NULL,
        poverty_percent     numeric(9,2)  NOT NULL,
        policy_id           uuid          NOT NULL REFERENCES assistance_policies (id),
        tier                text          NOT NULL,
        discount_percent    numeric(5,2)  NOT NULL,
        tier_above_percent  numeric(9,2),
        tier_up_to_percent  numeric(9,2),
        screened_by         text          NOT NULL,
        screened_at         timestamptz   NOT NULL
    )
    """,
    "CREATE INDEX screenings_guidelines ON screenings (guidelines_id)",
    "CREATE INDEX screenings_policy ON screenings (policy_id)",
    """
    CREATE TABLE assistance_applications (
        id                uuid PRIMARY KEY,
        patient_id        text          NOT NULL,
        account_id        text          NOT NULL,
        screening_id      uuid          NOT NULL REFERENCES screenings (id),
        status            text          NOT NULL
            CHECK (status IN ('open', 'decided', 'approved', 'denied')),
        hold_id           uuid          NOT NULL,
        decision          text CHECK (decision IN ('approve', 'deny')),
        tier              text,
        discount_percent  numeric(5,2),
        decision_note     text,
        decided_by        text,
        decided_at        timestamptz,
        approved_by       text,
        approved_at       timestamptz,
        approval_note     text,
        created_by        text          NOT NULL,
        created_at        timestamptz   NOT NULL,
        CHECK (approved_by IS NULL OR approved_by <> decided_by)
    )
    """,
    "CREATE INDEX assistance_applications_account ON assistance_applications (account_id, created_at)",
    "CREATE INDEX assistance_applications_screening ON assistance_applications (screening_id)",
    """
    CREATE TABLE assistance_documents (
        id              uuid PRIMARY KEY,
        application_id  uuid        NOT NULL REFERENCES assistance_applications (id),
        kind            text        NOT NULL
            CHECK (kind IN ('pay_stub', 'tax_return', 'benefits_letter', 'attestation')),
        received_date   date        NOT NULL,
        note            text,
        recorded_by     text        NOT NULL,
        recorded_at     timestamptz NOT NULL
    )
    """,
    "CREATE INDEX assistance_documents_application ON assistance_documents (application_id, recorded_at)",
    """
    CREATE TABLE financing_referrals (
        id           uuid PRIMARY KEY,
        patient_id   text          NOT NULL,
        account_id   text          NOT NULL,
        partner_id   text          NOT NULL,
        amount       numeric(14,2) NOT NULL CHECK (amount > 0),
        note         text,
        referred_by  text          NOT NULL,
        referred_at  timestamptz   NOT NULL
    )
    """,
    "CREATE INDEX financing_referrals_referred ON financing_referrals (referred_at, id)",
]

TABLES = [
    "financing_referrals",
    "assistance_documents",
    "assistance_applications",
    "screenings",
    "assistance_policies",
    "poverty_guidelines",
]


def _load_shipped_guidelines() -> None:
    """Each shipped year once (the same rows the upload route writes), loaded by `migration`."""
    insert = sa.text(
        "INSERT INTO poverty_guidelines (id, year, effective_date, source, regions, loaded_by, loaded_at) "
        "VALUES (gen_random_uuid(), :year, :effective_date, :source, CAST(:regions AS jsonb), "
        "'migration', now()) ON CONFLICT (year) DO NOTHING"
    )
    for path in sorted(DATA.glob("fpg-*.json")):
        doc = json.loads(path.read_text())
        op.get_bind().execute(
            insert,
            {
                "year": doc["year"],
                "effective_date": date.fromisoformat(doc["effective_date"]),
                "source": doc["source"],
                "regions": json.dumps(doc["regions"]),
            },
        )


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
    _load_shipped_guidelines()


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
