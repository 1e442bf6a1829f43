"""Tamper evidence for the audit log: every row's hash chains it to the row before it.

Each service's `audit_log` numbers its rows 1, 2, 3, ... (`seq`) and stores
`hash = sha256(prev_hash || canonical(row))`, where `prev_hash` is the hash of row `seq - 1`
(32 zero bytes for the first) and `canonical(row)` is the JSON text of the row's content
(CANONICAL_SQL). A BEFORE INSERT trigger fills seq, prev_hash and hash, so every way of
inserting (an ORM add, a batched insert, psql) is chained. It takes a per-service advisory
transaction lock first: appends are serialized until their transaction commits, so row
`seq + 1` can never be chained to anything but the committed row `seq` (a UNIQUE index on seq
refuses a fork outright). The lock is taken last in a request's transaction and held only for
the INSERT and the COMMIT.

The trigger is no defence against the table owner, who can switch triggers off. `verify`
therefore recomputes every hash from the columns, in Python, and names each break: a row
edited (its hash no longer matches its content), deleted (a gap in seq) or inserted (a row
outside the chain, or one whose prev_hash does not match). The owner could still rewrite
the whole chain after an edit; record the head (`seq`, `hash`) that verify prints somewhere
the database owner cannot write (a ticket, the operations log) and pass it back with
`--head` to detect that too.

`python -m shared.audit_chain [service ...] [--head SEQ:HASH]` (`make audit-verify`): exit 0
when every chain is whole, 1 when any break was found.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from dataclasses import dataclass, field

import asyncpg

from shared.config import SERVICE_NAMES, get_settings
from shared.db import connect

GENESIS = bytes(32)

# The row's content as JSON text, computed by PostgreSQL from the columns (so the trigger and
# verify agree byte for byte). `a` is the row. Every column but the chain's own is in it.
CANONICAL_SQL = """jsonb_build_array(
    a.seq, a.id, to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
    a.actor, a.action, a.resource_type, a.resource_id, a.patient_id, to_jsonb(a.patient_ids),
    a.outcome, a.status_code, a.correlation_id, a.route, a.reason,
    to_char(a.retain_until, 'YYYY-MM-DD'))::text"""

# Migrating a big audit log must not stop the services writing to it (issue 17). So the chain
# is added in steps (chain_steps), none of which holds a lock that stops inserts for longer
# than one batch: the columns (instant: nullable, no default; lock_timeout bounds the wait for
# the lock), the seq index built CONCURRENTLY, the rows already there chained BACKFILL_BATCH at
# a time each in its own short transaction (the append-only trigger is off only inside it),
# then, in one short transaction holding off inserts, the few rows written meanwhile and the
# trigger, and last the patient index, CONCURRENTLY.
AUDIT_CHAIN_COLUMNS = (
    "ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS patient_ids text[], ADD COLUMN IF NOT EXISTS route text, "
    "ADD COLUMN IF NOT EXISTS reason text, ADD COLUMN IF NOT EXISTS seq bigint, "
    "ADD COLUMN IF NOT EXISTS prev_hash bytea, ADD COLUMN IF NOT EXISTS hash bytea"
)
# A fork (two rows with one seq) is refused outright; the chain's head is found through it.
UNIQUE_INDEXES = {"audit_log_seq": "ON audit_log (seq)"}
# "Who saw patient X": WHERE patient_ids @> ARRAY[X], single-patient rows included.
INDEXES = {"audit_log_patient_ids": "ON audit_log USING gin (patient_ids)"}
BACKFILL_BATCH = 2000
LOCK_TIMEOUT = "SET LOCAL lock_timeout = '10s'"

# Chains rows written before the chain existed, oldest first, after the chain's head: with
# `after_id`, up to `batch` rows with a greater id (walking the primary key), else every row
# still outside the chain (found through audit_log_seq, which indexes NULLs). Returns the last
# id chained, NULL when there was none. Run by the table's owner.
BACKFILL_FUNCTION = """
    CREATE OR REPLACE FUNCTION audit_chain_backfill(after_id bigint, batch integer) RETURNS bigint
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
        a audit_log%ROWTYPE;
        n bigint;
        prev bytea;
        last_id bigint;
        pending refcursor;
    BEGIN
        SELECT seq, hash INTO n, prev FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
        n := coalesce(n, 0);
        prev := coalesce(prev, '{GENESIS}'::bytea);
        ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
        IF after_id IS NULL THEN  -- the few rows left: through the index on seq
            OPEN pending FOR SELECT * FROM audit_log WHERE seq IS NULL ORDER BY id FOR UPDATE;
        ELSE  -- a batch: along the primary key (coalesce keeps the planner off the seq index)
            OPEN pending FOR SELECT * FROM audit_log WHERE id > after_id AND coalesce(seq, 0) = 0
                ORDER BY id LIMIT batch FOR UPDATE;
        END IF;
        LOOP
            FETCH pending INTO a;
            EXIT WHEN NOT FOUND;
            n := n + 1;
            a.seq := n;
            a.prev_hash := prev;
            a.patient_ids := coalesce(a.patient_ids, CASE WHEN a.patient_id IS NULL THEN NULL
                                                        ELSE ARRAY[a.patient_id] END);
            a.hash := sha256(prev || convert_to({CANONICAL}, 'UTF8'));
            UPDATE audit_log SET seq = a.seq, prev_hash = a.prev_hash, patient_ids = a.patient_ids,
                hash = a.hash WHERE id = a.id;
            prev := a.hash;
            last_id := a.id;
        END LOOP;
        CLOSE pending;
        ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
        RETURN last_id;
    END $$
    """

# Pinned to its schema (the migration's search_path): an admin inserting from another
# search_path still chains onto this table.
TRIGGER_DDL = [
    """
    CREATE OR REPLACE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    DECLARE
        last_seq bigint;
        last_hash bytea;
        a audit_log%ROWTYPE;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('audit-chain'), hashtext(TG_TABLE_SCHEMA));
        SELECT seq, hash INTO last_seq, last_hash FROM audit_log
            WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
        NEW.seq := coalesce(last_seq, 0) + 1;
        NEW.prev_hash := coalesce(last_hash, '{GENESIS}'::bytea);
        -- A writer that names one patient (patient_id) is found by "who saw patient X" too.
        IF NEW.patient_ids IS NULL AND NEW.patient_id IS NOT NULL THEN
            NEW.patient_ids := ARRAY[NEW.patient_id];
        END IF;
        a := NEW;
        NEW.hash := sha256(NEW.prev_hash || convert_to({CANONICAL}, 'UTF8'));
        RETURN NEW;
    END $$
    """,
    "DROP TRIGGER IF EXISTS audit_log_chain ON audit_log",
    "CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_chain()",
]


def _filled(statement: str) -> str:
    """Both PL/pgSQL bodies compute the hash with the one canonical form (constants, no input)."""
    return statement.replace("{CANONICAL}", CANONICAL_SQL).replace("{GENESIS}", "\\x" + GENESIS.hex())


BACKFILL_FUNCTION = _filled(BACKFILL_FUNCTION)
TRIGGER_DDL = [_filled(statement) for statement in TRIGGER_DDL]


@dataclass(frozen=True)
class Step:
    """One step of chaining an existing audit log: `statements` run in one transaction, or
    each on its own (`autocommit`: CREATE INDEX CONCURRENTLY cannot run in a transaction);
    `backfill`: call audit_chain_backfill batch after batch, each call its own transaction."""

    statements: tuple[str, ...] = ()
    autocommit: bool = False
    backfill: bool = False


def chain_steps() -> list[Step]:
    """How the migration chains an audit log that may already hold millions of rows while the
    services keep writing to it (shared.migrations.chain_audit_log runs these steps)."""
    unique = tuple(
        f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {n} {d}" for n, d in UNIQUE_INDEXES.items()
    )
    other = tuple(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {n} {d}" for n, d in INDEXES.items())
    return [
        Step((LOCK_TIMEOUT, AUDIT_CHAIN_COLUMNS, BACKFILL_FUNCTION)),
        Step(unique, autocommit=True),
        Step(backfill=True),
        Step(("ANALYZE audit_log",), autocommit=True),  # the catch-up then finds the few NULL seqs by index
        Step(
            (
                LOCK_TIMEOUT,
                # Inserts wait (reads do not) while the rows written since the backfill are
                # chained and the trigger takes over: a short transaction.
                "LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE",
                "SELECT audit_chain_backfill(NULL, NULL)",
                *TRIGGER_DDL,
                "DROP FUNCTION audit_chain_backfill(bigint, integer)",
            )
        ),
        Step(other, autocommit=True),
    ]


# The same in one transaction, for a new or small table (tests, benches): no step waits.
AUDIT_CHAIN_DDL = [
    AUDIT_CHAIN_COLUMNS,
    *(f"CREATE UNIQUE INDEX {n} {d}" for n, d in UNIQUE_INDEXES.items()),
    *(f"CREATE INDEX {n} {d}" for n, d in INDEXES.items()),
    BACKFILL_FUNCTION,
    "SELECT audit_chain_backfill(NULL, NULL)",
    "DROP FUNCTION audit_chain_backfill(bigint, integer)",
    *TRIGGER_DDL,
]

AUDIT_UNCHAIN_DDL = [
    "DROP FUNCTION IF EXISTS audit_chain_backfill(bigint, integer)",
    "DROP TRIGGER IF EXISTS audit_log_chain ON audit_log",
    "DROP FUNCTION IF EXISTS audit_chain()",
    "DROP INDEX IF EXISTS audit_log_seq",
    "DROP INDEX IF EXISTS audit_log_patient_ids",
    "ALTER TABLE audit_log DROP COLUMN IF EXISTS patient_ids, DROP COLUMN IF EXISTS route, "
    "DROP COLUMN IF EXISTS reason, DROP COLUMN IF EXISTS seq, DROP COLUMN IF EXISTS prev_hash, "
    "DROP COLUMN IF EXISTS hash",
]


@dataclass(frozen=True)
class Break:
    """One place where the chain does not hold: the row (by id and seq) and what happened."""

    id: int
    seq: int | None
    kind: str  # "edited", "deleted" (rows missing before this one), "inserted", "head"
    detail: str


@dataclass
class ChainReport:
    """What verify found in one service's audit log."""

    schema: str
    rows: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS.hex()
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def _check(row: asyncpg.Record, expected_seq: int, running: bytes) -> list[Break]:
    """The breaks at one chained row, given the seq and hash the chain so far leads to."""
    found: list[Break] = []
    rid, seq, prev = row["id"], row["seq"], bytes(row["prev_hash"] or b"")
    if seq > expected_seq:
        found.append(Break(rid, seq, "deleted", f"rows seq {expected_seq}..{seq - 1} are missing"))
    elif prev != running:
        found.append(Break(rid, seq, "inserted", "prev_hash is not its predecessor's"))
    if hashlib.sha256(prev + row["canonical"].encode()).digest() != bytes(row["hash"] or b""):
        found.append(Break(rid, seq, "edited", "its content does not match its hash"))
    return found


async def verify(
    conn: asyncpg.Connection, schema: str, *, head: tuple[int, str] | None = None
) -> ChainReport:
    """Walk `schema`'s chain in seq order and recompute every hash (rows outside the chain last).
    `head`, a (seq, hash) recorded earlier, must still be in the chain as it was."""
    report = ChainReport(schema)
    # The schema is a service's (SERVICE_NAMES) or the running app's own, never input.
    table = f'"{schema}".audit_log'
    columns = f"a.id, a.seq, a.prev_hash, a.hash, {CANONICAL_SQL} AS canonical"
    query = f"SELECT {columns} FROM {table} a ORDER BY a.seq NULLS LAST, a.id"  # noqa: S608 (our names)
    expected_seq, running = 1, GENESIS
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for row in conn.cursor(query, prefetch=2000):
            report.rows += 1
            if row["seq"] is None:
                report.breaks.append(Break(row["id"], None, "inserted", "not in the chain (no seq)"))
                continue
            report.breaks += _check(row, expected_seq, running)
            expected_seq, running = row["seq"] + 1, bytes(row["hash"] or b"")
            if head is not None and row["seq"] == head[0] and running.hex() != head[1]:
                report.breaks.append(Break(row["id"], row["seq"], "head", "the recorded head was rewritten"))
            report.head_seq, report.head_hash = row["seq"], running.hex()
    if head is not None and head[0] > report.head_seq:
        report.breaks.append(Break(0, head[0], "deleted", "the recorded head is gone: rows were removed"))
    return report


def describe(report: ChainReport) -> str:
    """The report as the verify command prints it: one line per break, then the head."""
    lines = [f"{b.kind}: {report.schema}.audit_log id={b.id} seq={b.seq}: {b.detail}" for b in report.breaks]
    state = "intact" if report.ok else f"{len(report.breaks)} break(s)"
    lines.append(
        f"{report.schema}: {report.rows} rows, chain {state}; head {report.head_seq}:{report.head_hash}"
    )
    return "\n".join(lines)


async def _main(services: list[str], head: tuple[int, str] | None) -> int:
    settings = get_settings()
    conn = await connect(settings.database_url, settings.database_ssl_root_cert)
    try:
        reports = [await verify(conn, service, head=head) for service in services]
    finally:
        await conn.close()
    for report in reports:
        print(describe(report))
    return 0 if all(r.ok for r in reports) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description="Verify the audit logs' hash chains.")
    parser.add_argument("services", nargs="*", metavar="service", help=f"Any of {', '.join(SERVICE_NAMES)}.")
    parser.add_argument("--head", help="SEQ:HASH recorded by an earlier run (one service).")
    args = parser.parse_args()
    unknown = sorted(set(args.services) - set(SERVICE_NAMES))
    if unknown:
        parser.error(f"unknown service(s): {', '.join(unknown)}")
    head = None
    if args.head:
        seq, _, digest = args.head.partition(":")
        head = (int(seq), digest.lower())
    sys.exit(asyncio.run(_main(list(args.services) or list(SERVICE_NAMES), head)))


if __name__ == "__main__":
    main()
