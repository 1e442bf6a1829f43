"""Remittance intake: every 835 that reaches us is kept first (`received_files`, never
deleted, its text never changed), with the outcome of each of its transaction sets
(`received_sets`): posted, duplicate, refused, held (payer needed, conflict) or resolved.

A remittance is no longer unique per payer and trace number but per payer, trace number
and the transaction set's content: the same trace with other content is held as a
conflict, and staff may post it as an additional remittance or a replacement. The raw
835s move from `remittance_files` (one copy per remittance) into `received_files` (one
per file received); existing remittances are linked to a received file and set.
"""

from alembic import op

revision = "0005"
down_revision = "0009"

FILE_OUTCOMES = (
    "'received', 'posted', 'partially_posted', 'refused', 'held', 'duplicate', 'dismissed', 'repaired'"
)
SET_OUTCOMES = (
    "'posted', 'duplicate', 'refused', 'payer_needed', 'conflict', 'dismissed', 'replaced', 'repaired'"
)

STATEMENTS = [
    f"""
    CREATE TABLE received_files (
        id           uuid PRIMARY KEY,
        sha256       text        NOT NULL,
        source       text        NOT NULL CHECK (source IN ('http', 'kafka')),
        actor        text        NOT NULL,
        event_id     uuid UNIQUE,           -- the remittance.received event it came in
        payer_hint   text,                  -- that event's payer_id
        received_at  timestamptz NOT NULL,
        x12          text        NOT NULL,  -- PHI: read only through a `remittances:raw` route
        outcome      text        NOT NULL DEFAULT 'received' CHECK (outcome IN ({FILE_OUTCOMES})),
        errors       jsonb       NOT NULL DEFAULT '[]',
        counts       jsonb       NOT NULL DEFAULT '{{}}',
        repair_of    uuid REFERENCES received_files (id),
        processed_at timestamptz,
        retry_at     timestamptz            -- lease of the retry worker on an unprocessed file
    )
    """,
    "CREATE INDEX received_files_list ON received_files (received_at, id)",
    "CREATE INDEX received_files_outcome ON received_files (outcome, received_at, id)",
    "CREATE INDEX received_files_repairs ON received_files (repair_of) WHERE repair_of IS NOT NULL",
    # A received file is never deleted, and what was received never changes.
    """
    CREATE FUNCTION received_file_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR NEW.x12 IS DISTINCT FROM OLD.x12 OR NEW.sha256 IS DISTINCT FROM OLD.sha256
           OR NEW.received_at IS DISTINCT FROM OLD.received_at OR NEW.source IS DISTINCT FROM OLD.source THEN
            RAISE EXCEPTION 'received files are kept as received' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER received_files_kept BEFORE UPDATE OR DELETE ON received_files "
    "FOR EACH ROW EXECUTE FUNCTION received_file_kept()",
    f"""
    CREATE TABLE received_sets (
        id                uuid PRIMARY KEY,
        file_id           uuid          NOT NULL REFERENCES received_files (id),
        set_index         integer       NOT NULL,
        control_number    text          NOT NULL,
        trace_number      text,
        payer_id          text,
        payer_name        text,
        payer_identifiers jsonb         NOT NULL DEFAULT '[]',
        amount            numeric(14,2),
        sha256            text,
        outcome           text          NOT NULL CHECK (outcome IN ({SET_OUTCOMES})),
        remittance_id     uuid,
        duplicate_of      uuid REFERENCES received_sets (id),
        errors            jsonb         NOT NULL DEFAULT '[]',
        differences       jsonb         NOT NULL DEFAULT '[]',
        resolution        text CHECK (resolution IN ('post_additional', 'replace', 'dismiss',
                                                     'payer_mapped', 'repaired', 'replaced')),
        resolution_reason text,
        resolved_by       text,
        resolved_at       timestamptz,
        created_at        timestamptz   NOT NULL,
        UNIQUE (file_id, set_index)
    )
    """,
    "CREATE INDEX received_sets_trace ON received_sets (trace_number, sha256)",
    "CREATE INDEX received_sets_remittance ON received_sets (remittance_id)",
    "CREATE INDEX received_sets_waiting ON received_sets (outcome, created_at, id) "
    "WHERE outcome IN ('payer_needed', 'conflict')",
    "ALTER TABLE remittances DROP CONSTRAINT remittances_payer_id_trace_number_key",
    "ALTER TABLE remittances ADD COLUMN set_sha256 text",
    "ALTER TABLE remittances ADD COLUMN received_set_id uuid REFERENCES received_sets (id)",
    "ALTER TABLE remittances ADD COLUMN kind text NOT NULL DEFAULT 'original' "
    "CHECK (kind IN ('original', 'additional', 'replacement'))",
    "ALTER TABLE remittances ADD COLUMN replaces uuid UNIQUE REFERENCES remittances (id)",
    "CREATE INDEX remittances_trace ON remittances (payer_id, trace_number)",
    "CREATE UNIQUE INDEX remittances_content ON remittances (payer_id, trace_number, set_sha256)",
    # What was received so far: one received file per distinct raw file, one set per remittance.
    """
    INSERT INTO received_files (id, sha256, source, actor, received_at, x12, outcome, processed_at)
    SELECT DISTINCT ON (f.sha256) gen_random_uuid(), f.sha256, r.source, r.received_by, r.received_at, f.x12,
           'posted', r.received_at
    FROM remittance_files f JOIN remittances r ON r.id = f.remittance_id
    ORDER BY f.sha256, r.received_at, r.id
    """,
    """
    INSERT INTO received_sets (id, file_id, set_index, control_number, trace_number, payer_id, amount,
                               outcome, remittance_id, created_at)
    SELECT gen_random_uuid(), rf.id, row_number() OVER (PARTITION BY rf.id ORDER BY r.received_at, r.id) - 1,
           coalesce(r.control_number, ''), r.trace_number, r.payer_id,
           CASE WHEN r.credit_debit = 'D' THEN -r.amount ELSE r.amount END, 'posted', r.id, r.received_at
    FROM remittances r JOIN remittance_files f ON f.remittance_id = r.id
    JOIN received_files rf ON rf.sha256 = f.sha256
    """,
    "UPDATE remittances r SET received_set_id = s.id FROM received_sets s WHERE s.remittance_id = r.id",
    """
    UPDATE received_files f SET counts = jsonb_build_object('posted', n) FROM
        (SELECT file_id, count(*) AS n FROM received_sets GROUP BY file_id) s WHERE s.file_id = f.id
    """,
    "DROP TABLE remittance_files",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute(
        """
        CREATE TABLE remittance_files (
            remittance_id uuid PRIMARY KEY REFERENCES remittances (id),
            sha256        text NOT NULL,
            x12           text NOT NULL
        )
        """
    )
    op.execute(
        "INSERT INTO remittance_files (remittance_id, sha256, x12) SELECT r.id, f.sha256, f.x12 "
        "FROM remittances r JOIN received_sets s ON s.id = r.received_set_id "
        "JOIN received_files f ON f.id = s.file_id"
    )
    op.execute("DROP INDEX remittances_content")
    op.execute("DROP INDEX remittances_trace")
    for column in ("replaces", "kind", "received_set_id", "set_sha256"):
        op.execute(f"ALTER TABLE remittances DROP COLUMN {column}")
    # Fails if staff posted a second remittance under one trace number: decide those first.
    op.execute(
        "ALTER TABLE remittances ADD CONSTRAINT remittances_payer_id_trace_number_key "
        "UNIQUE (payer_id, trace_number)"
    )
    op.execute("DROP TABLE received_sets")
    op.execute("DROP TABLE received_files")
    op.execute("DROP FUNCTION received_file_kept()")
