"""Code data the operator loads from CMS files (NCCI PTP and MUE practitioner edits, HCPCS Level
II, the practice's CPT list), each load a version effective from a date; and the shipped starter
set (services/claims/data/codes/) loaded as the first version of each kind."""

from alembic import op
from sqlalchemy import insert

from services.claims.codesets.tables import ROW_TABLES, CodeDataLoad
from services.claims.codesets.usecases import starter_loads

revision = "0004_code_data"
down_revision = "0003_voided_replaced"


def upgrade() -> None:
    for statement in DDL:
        op.execute(statement)
    bind = op.get_bind()
    for load, rows in starter_loads():
        load_id = bind.execute(
            insert(CodeDataLoad.__table__).values(**load).returning(CodeDataLoad.__table__.c.id)
        ).scalar()
        op.bulk_insert(ROW_TABLES[load["kind"]].__table__, [{**row, "load_id": load_id} for row in rows])


DDL = [
    """
        CREATE TABLE code_data_loads (
            id             bigserial PRIMARY KEY,
            kind           text        NOT NULL CHECK (kind IN ('ncci-ptp','mue','hcpcs','cpt')),
            effective_date date        NOT NULL,
            source         text        NOT NULL,
            sha256         text        NOT NULL,
            row_count      integer     NOT NULL CHECK (row_count > 0),
            loaded_by      text        NOT NULL,
            loaded_at      timestamptz NOT NULL,
            UNIQUE (kind, effective_date, sha256)
        )
    """,
    """
        CREATE TABLE ncci_ptp_edits (
            load_id            bigint  NOT NULL REFERENCES code_data_loads (id) ON DELETE CASCADE,
            column1            text    NOT NULL,
            column2            text    NOT NULL,
            effective_date     date    NOT NULL,
            deletion_date      date,
            prior_1996         boolean NOT NULL DEFAULT false,
            modifier_indicator text    NOT NULL CHECK (modifier_indicator IN ('0','1','9')),
            rationale          text,
            PRIMARY KEY (load_id, column1, column2, effective_date)
        )
    """,
    """
        CREATE TABLE mue_edits (
            load_id   bigint   NOT NULL REFERENCES code_data_loads (id) ON DELETE CASCADE,
            code      text     NOT NULL,
            units     integer  NOT NULL CHECK (units >= 0),
            mai       smallint NOT NULL CHECK (mai IN (1,2,3)),
            rationale text,
            PRIMARY KEY (load_id, code)
        )
    """,
    """
        CREATE TABLE hcpcs_codes (
            load_id           bigint  NOT NULL REFERENCES code_data_loads (id) ON DELETE CASCADE,
            code              text    NOT NULL,
            is_modifier       boolean NOT NULL,
            short_description text,
            long_description  text,
            added_date        date,
            effective_date    date,
            termination_date  date,
            action_code       text,
            PRIMARY KEY (load_id, code, is_modifier)
        )
    """,
]


def downgrade() -> None:
    for table in ("hcpcs_codes", "mue_edits", "ncci_ptp_edits", "code_data_loads"):
        op.execute(f"DROP TABLE {table}")
