"""The sandbox's own store: what it has answered, adjudicated and paid, in a SQLite file.

A partner remembers what it paid. The fault run killed the sandbox and it forgot: it re-read
claims it had paid (its offsets were auto-committed every few seconds, so the last ones were
read again) and, with nothing remembered, paid them again in a new 835 under a new trace.
Here every effect of a file is written in one SQLite transaction with the file's state, and
loaded again at start:

- `payments`: per payer, each claim payment it adjudicated (the CLP as JSON), its duplicate key,
  the 835 trace it went out in, and whether a later claim reversed it (what `Memory` holds);
- `pending`: adjudicated payments waiting for their payer's 835 cycle;
- `remittances`: the 835s it built (trace, interchange control number, text);
- `meta`: the interchange control number counter;
- `files_in`: every file taken from a mailbox's `to/` (name, sha256, ISA13, state, text),
  recorded before anything acts on it; `files_out`: every answer file (TA1, 999, 277CA, 835),
  stored in the transaction that decided it, then written to `from/` and marked written.

Why SQLite, not PostgreSQL: the sandbox stands in for a partner outside the platform. It must
touch no service's schema, need no role or migration in the platform's database, and keep
answering (and remembering) while the platform's PostgreSQL is down in a fault run. The standard
library's sqlite3 with WAL and synchronous=FULL makes each commit durable, and one process owns
the file (`.state/payer-sandbox.sqlite3` under `make up`; `SANDBOX_STATE_PATH`).

All calls are synchronous and short; the file desk makes them from its event loop without an
await inside a transaction, so nothing else can interleave with one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from deploy.payer_sandbox.adjudication import Memory
from deploy.payer_sandbox.claimpayment import Adj, ClaimPayment, PaidLine

PendingKey = tuple[str, str, str]  # payer id, payee NPI, mailbox user

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    payer_id TEXT NOT NULL, pccn TEXT NOT NULL, pcn TEXT NOT NULL, claim_id TEXT,
    status TEXT NOT NULL, dup_key TEXT, payment TEXT NOT NULL, trace TEXT,
    reversed INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL,
    PRIMARY KEY (payer_id, pccn)
);
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT, payer_id TEXT NOT NULL, payee_npi TEXT NOT NULL,
    payee_name TEXT, payment TEXT NOT NULL, mailbox TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS remittances (
    trace TEXT PRIMARY KEY, payer_id TEXT NOT NULL, control_number INTEGER NOT NULL,
    x12_835 TEXT NOT NULL, pcns TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files_in (
    id INTEGER PRIMARY KEY AUTOINCREMENT, mailbox TEXT NOT NULL, name TEXT NOT NULL,
    sha256 TEXT NOT NULL, icn TEXT, state TEXT NOT NULL, text TEXT NOT NULL, at TEXT NOT NULL,
    UNIQUE (mailbox, name, sha256)
);
CREATE TABLE IF NOT EXISTS files_out (
    id INTEGER PRIMARY KEY AUTOINCREMENT, mailbox TEXT NOT NULL, name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL, file_in INTEGER, text TEXT NOT NULL, at TEXT NOT NULL, written_at TEXT
);
"""


def dump_payment(payment: ClaimPayment) -> str:
    return json.dumps(dataclasses.asdict(payment), default=str)


def load_payment(text: str) -> ClaimPayment:
    data = json.loads(text)
    lines = tuple(
        PaidLine(
            number=line["number"],
            code=line["code"],
            modifiers=tuple(line["modifiers"]),
            charge=Decimal(line["charge"]),
            units=Decimal(line["units"]),
            paid=Decimal(line["paid"]),
            allowed=Decimal(line["allowed"]) if line["allowed"] is not None else None,
            adjustments=tuple(
                Adj(a["group"], a["reason"], Decimal(a["amount"])) for a in line["adjustments"]
            ),
            date_of_service=date.fromisoformat(line["date_of_service"]) if line["date_of_service"] else None,
            remarks=tuple(line["remarks"]),
            revenue_code=line.get("revenue_code", ""),
        )
        for line in data.pop("lines")
    )
    # Institutional fields (absent from payments stored before them).
    claim_charge = data.pop("claim_charge", None)
    weight = data.pop("drg_weight", None)
    return ClaimPayment(
        **{k: v for k, v in data.items() if k not in _INSTITUTIONAL},
        lines=lines,
        claim_charge=Decimal(claim_charge) if claim_charge is not None else None,
        claim_adjustments=tuple(
            Adj(a["group"], a["reason"], Decimal(a["amount"])) for a in data.get("claim_adjustments", [])
        ),
        drg_code=data.get("drg_code", ""),
        drg_weight=Decimal(weight) if weight is not None else None,
        mia=tuple(data.get("mia", ())),
        moa=tuple(data.get("moa", ())),
        statement_from=_date(data.get("statement_from")),
        statement_to=_date(data.get("statement_to")),
    )


_INSTITUTIONAL = frozenset({"claim_adjustments", "drg_code", "mia", "moa", "statement_from", "statement_to"})


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SandboxStore:
    """One SQLite file (or `:memory:` for a sandbox that may forget, as tests' in-process ones)."""

    def __init__(self, path: str | None) -> None:
        self.path = path or ":memory:"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are the explicit BEGIN/COMMIT of `transaction()`.
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(pending)")}
        if "mailbox" not in columns:  # a store from before the mailbox
            self._db.execute("ALTER TABLE pending ADD COLUMN mailbox TEXT NOT NULL DEFAULT ''")
        # Batches of the Kafka path the sandbox no longer has: no mailbox would ever get them.
        self._db.execute("DELETE FROM pending WHERE mailbox = ''")

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together (durably) or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- loading at start --------------------------------------------------------------

    def memories(self) -> dict[str, Memory]:
        """Each payer's memory as it was: its payments not reversed, with their duplicate keys."""
        out: dict[str, Memory] = {}
        rows = self._db.execute(
            "SELECT payer_id, dup_key, payment FROM payments WHERE reversed = 0 ORDER BY rowid"
        )
        for payer_id, dup_key, payment in rows:
            memory = out.setdefault(payer_id, Memory())
            memory.remember(load_payment(payment), tuple(json.loads(dup_key)) if dup_key else ())
        return out

    def pending(self) -> dict[PendingKey, list[ClaimPayment]]:
        """Payments waiting for their 835, by (payer, payee NPI, mailbox)."""
        out: dict[PendingKey, list[ClaimPayment]] = {}
        rows = self._db.execute("SELECT payer_id, payee_npi, mailbox, payment FROM pending ORDER BY id")
        for payer_id, payee_npi, mailbox, payment in rows:
            out.setdefault((payer_id, payee_npi, mailbox), []).append(load_payment(payment))
        return out

    def payee_names(self) -> dict[str, str]:
        rows = self._db.execute("SELECT payee_npi, payee_name FROM pending WHERE payee_name IS NOT NULL")
        return dict(rows.fetchall())

    def recent_remittances(self, limit: int) -> list[tuple[str, str, str, list[str]]]:
        """(payer, trace, 835, pcns) of the latest `limit` 835s, oldest first."""
        rows = self._db.execute(
            "SELECT payer_id, trace, x12_835, pcns FROM remittances ORDER BY rowid DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(p, t, x, json.loads(pcns)) for p, t, x, pcns in reversed(rows)]

    def next_control_number(self) -> int:
        """The next interchange control number (never reused across restarts)."""
        row = self._db.execute("SELECT value FROM meta WHERE name = 'control_number'").fetchone()
        number = int(row[0]) + 1 if row else 1
        self._db.execute(
            "INSERT INTO meta (name, value) VALUES ('control_number', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (str(number),),
        )
        return number

    # --- a file's writes (inside `transaction()`) --------------------------------------

    def adjudicated(self, payments: Iterable[ClaimPayment], dup_key: tuple[str, ...]) -> None:
        """What `adjudicate` just told a payer's memory: a reversal forgets the original, a new
        payment is remembered (with the claim's duplicate key when it was paid)."""
        for p in payments:
            if p.status == "22":
                self._db.execute(
                    "UPDATE payments SET reversed = 1 WHERE payer_id = ? AND pccn = ?", (p.payer_id, p.pccn)
                )
                continue
            key = json.dumps(dup_key) if p.status in ("1", "2", "3") else None
            self._db.execute(
                "INSERT OR REPLACE INTO payments (payer_id, pccn, pcn, claim_id, status, dup_key, "
                "payment, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (p.payer_id, p.pccn, p.pcn, p.claim_id, p.status, key, dump_payment(p), _now()),
            )

    def queue(self, key: PendingKey, payee_name: str, payments: Iterable[ClaimPayment]) -> None:
        payer_id, payee_npi, mailbox = key
        for p in payments:
            self._db.execute(
                "INSERT INTO pending (payer_id, payee_npi, payee_name, payment, mailbox) "
                "VALUES (?, ?, ?, ?, ?)",
                (payer_id, payee_npi, payee_name, dump_payment(p), mailbox),
            )

    def remitted(
        self, key: PendingKey, trace: str, control_number: int, text: str, payments: list[ClaimPayment]
    ) -> None:
        """An 835 went out for everything pending for (payer, payee, mailbox): it is no longer
        pending, and each payment remembers its trace."""
        payer_id = key[0]
        self._db.execute("DELETE FROM pending WHERE payer_id = ? AND payee_npi = ? AND mailbox = ?", key)
        self._db.execute(
            "INSERT OR REPLACE INTO remittances VALUES (?, ?, ?, ?, ?, ?)",
            (trace, payer_id, control_number, text, json.dumps([p.pcn for p in payments]), _now()),
        )
        self._db.executemany(
            "UPDATE payments SET trace = ? WHERE payer_id = ? AND pccn = ? AND status = ?",
            [(trace, payer_id, p.pccn, p.status) for p in payments if p.status != "22"],
        )

    # --- mailbox files ------------------------------------------------------------------

    def latest_payment(self, pcn: str, payer_id: str) -> tuple[str, str, str | None, str] | None:
        """(status, payment JSON, 835 trace or None, at) of this claim's latest adjudication:
        what a 276 about it is answered from (claimstatus.py)."""
        row = self._db.execute(
            "SELECT status, payment, trace, at FROM payments WHERE pcn = ? AND payer_id = ? "
            "ORDER BY at DESC LIMIT 1",
            (pcn, payer_id),
        ).fetchone()
        return tuple(row) if row else None  # type: ignore[return-value]

    def file_known(self, mailbox: str, name: str, sha256: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM files_in WHERE mailbox = ? AND name = ? AND sha256 = ?", (mailbox, name, sha256)
        ).fetchone()
        return row is not None

    def file_received(self, mailbox: str, name: str, sha256: str, icn: str | None, text: str) -> int:
        """Record a file taken from `to/` (commit before acting on it); its id."""
        cursor = self._db.execute(
            "INSERT INTO files_in (mailbox, name, sha256, icn, state, text, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (mailbox, name, sha256, icn, "received", text, _now()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def files_to_answer(self) -> list[tuple[int, str, str, str]]:
        """(id, mailbox, sha256, text) of recorded files not answered yet, oldest first."""
        rows = self._db.execute(
            "SELECT id, mailbox, sha256, text FROM files_in WHERE state = 'received' ORDER BY id"
        )
        return list(rows.fetchall())

    def icn_reused(self, file_id: int, mailbox: str, icn: str, sha256: str) -> bool:
        """Did an earlier file of this mailbox carry the same ISA13 with other content?"""
        row = self._db.execute(
            "SELECT 1 FROM files_in WHERE mailbox = ? AND icn = ? AND sha256 != ? AND id < ?",
            (mailbox, icn, sha256, file_id),
        ).fetchone()
        return row is not None

    def file_answered(self, file_id: int, state: str) -> None:
        self._db.execute("UPDATE files_in SET state = ? WHERE id = ?", (state, file_id))

    def add_output(self, mailbox: str, name: str, kind: str, text: str, file_in: int | None) -> None:
        self._db.execute(
            "INSERT INTO files_out (mailbox, name, kind, file_in, text, at) VALUES (?, ?, ?, ?, ?, ?)",
            (mailbox, name, kind, file_in, text, _now()),
        )

    def unwritten_outputs(self) -> list[tuple[int, str, str, str]]:
        """(id, mailbox, name, text) of answer files not yet in `from/`."""
        rows = self._db.execute(
            "SELECT id, mailbox, name, text FROM files_out WHERE written_at IS NULL ORDER BY id"
        )
        return list(rows.fetchall())

    def output_written(self, output_id: int) -> None:
        self._db.execute("UPDATE files_out SET written_at = ? WHERE id = ?", (_now(), output_id))

    def counts(self) -> dict[str, int]:
        """Sizes, for /stats."""
        return {
            "stored_payments": self._db.execute("SELECT count(*) FROM payments").fetchone()[0],
            "stored_remittances": self._db.execute("SELECT count(*) FROM remittances").fetchone()[0],
            "files_in": self._db.execute("SELECT count(*) FROM files_in").fetchone()[0],
            "files_out": self._db.execute("SELECT count(*) FROM files_out").fetchone()[0],
        }
