"""Loading code data, and the code data in effect for a batch of claims.

An operator loads a CMS file as a new version effective from a date; the running service sees
it at its next scrub (the versions are read per batch, nothing to restart):

    python -m services.claims.codesets.usecases load --kind ncci-ptp FILE --effective 2026-01-01
    python -m services.claims.codesets.usecases list
    python -m services.claims.codesets.usecases withdraw VERSION

(`make codes-load KIND=... FILE=... EFFECTIVE=...` and `make codes` run the same.) Loading the
same bytes for the same kind and date again adds nothing. The shipped starter set
(data/codes/) is loaded by the migrations as the first version of each kind.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims.schemas import ClaimData
from services.claims.codesets import domain, store
from services.claims.codesets.domain import CodeData, LayoutError, Version
from services.claims.settings import get_claims_settings

# The starter set: kind, file under data/codes/, effective date.
STARTER: list[tuple[str, str, date]] = [
    ("cpt", "cpt_2025.csv", date(2025, 1, 1)),
    ("hcpcs", "hcpcs_2025_anweb.csv", date(2025, 1, 1)),
    ("ncci-ptp", "ncci_ptp_practitioner_2025q1.csv", date(2025, 1, 1)),
    ("mue", "mue_practitioner_2025q1.csv", date(2025, 1, 1)),
]


def _decode(data: bytes) -> str:
    """CMS's downloads are UTF-8 or Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _starter_path(name: str) -> Path:
    return get_claims_settings().data_dir / "codes" / name


def starter_text(name: str) -> str:
    return _decode(_starter_path(name).read_bytes())


def starter_loads() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The starter set as loads and their rows (what the migration inserts)."""
    result = []
    for kind, name, effective in STARTER:
        data = _starter_path(name).read_bytes()
        rows = domain.read(kind, _decode(data))
        result.append((_load_values(kind, effective, name, data, len(rows), "migration 0003"), rows))
    return result


@cache
def shipped_code_data() -> CodeData:
    """The starter set as one CodeData with every row, without a database (tests, benchmarks)."""
    chosen = {kind: Version(-i, kind, effective) for i, (kind, _, effective) in enumerate(STARTER, 1)}
    ptp, mue, entries = [], [], []
    for kind, name, _ in STARTER:
        load_id = chosen[kind].id
        for row in domain.read(kind, starter_text(name)):
            if kind == "ncci-ptp":
                ptp.append((load_id, domain.ptp_of(row)))
            elif kind == "mue":
                mue.append((load_id, domain.mue_of(row)))
            else:
                entries.append((load_id, row["is_modifier"], domain.entry_of(row)))
    return domain.assemble(chosen, ptp, mue, entries)


def _load_values(
    kind: str, effective: date, source: str, data: bytes, count: int, actor: str
) -> dict[str, Any]:
    return {
        "kind": kind,
        "effective_date": effective,
        "source": source,
        "sha256": hashlib.sha256(data).hexdigest(),
        "row_count": count,
        "loaded_by": actor,
        "loaded_at": datetime.now(UTC),
    }


async def load_file(
    session: AsyncSession, kind: str, data: bytes, source: str, effective: date, actor: str
) -> dict[str, Any]:
    """Load a file's bytes as a new version of `kind` effective from `effective` (in the
    caller's transaction); the same bytes already loaded for that kind and date are not loaded
    again. Raises LayoutError, naming the line, for a file not in the kind's layout."""
    answer = {"kind": kind, "effective_date": effective, "source": source}
    existing = await store.find_load(session, kind, effective, hashlib.sha256(data).hexdigest())
    if existing is not None:
        return {**answer, "version": existing, "already": True}
    rows = domain.read(kind, _decode(data))
    values = _load_values(kind, effective, source, data, len(rows), actor)
    version = await store.add_load(session, values, rows)
    return {**answer, "version": version, "rows": len(rows), "already": False}


async def code_data_for(session: AsyncSession, claims: Sequence[ClaimData]) -> list[CodeData]:
    """Each claim's code data: the versions in effect on its first date of service, with the
    rows about the batch's codes and modifiers. A few statements for the whole batch; claims
    on the same versions share one CodeData."""
    if not claims:
        return []
    every = await store.versions(session)
    chosen = [domain.versions_on(every, data.first_date_of_service) for data in claims]
    load_ids: dict[str, set[int]] = {}
    for versions in chosen:
        for kind, version in versions.items():
            load_ids.setdefault(kind, set()).add(version.id)
    codes = {line.code.upper() for data in claims for line in data.lines if line.code}
    codes |= {m.upper() for data in claims for line in data.lines for m in line.modifiers}
    ptp, mue, entries = await store.rows_for(session, load_ids, sorted(codes))
    shared: dict[tuple[int, ...], CodeData] = {}
    result = []
    for versions in chosen:
        key = tuple(sorted(v.id for v in versions.values()))
        if key not in shared:
            shared[key] = domain.assemble(versions, ptp, mue, entries)
        result.append(shared[key])
    return result


# --- the operator's command ---------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.claims.codesets.usecases", description="Load CMS code data as versions."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="load a file as a new version")
    load.add_argument("--kind", required=True, choices=domain.KINDS)
    load.add_argument("file", type=Path)
    load.add_argument("--effective", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    load.add_argument("--by", default=f"cli:{getpass.getuser()}", help="who loads it (recorded)")
    commands.add_parser("list", help="list the versions")
    withdraw = commands.add_parser("withdraw", help="delete a version and its rows")
    withdraw.add_argument("version", type=int)
    return parser


_LISTED = "{id:>6}  {kind:<9} {effective_date}  {row_count:>8} rows  {source}  {loaded_by}"


async def _run(args: argparse.Namespace) -> int:
    from shared.config import get_settings, service_database_url
    from shared.db import Database

    db = Database(service_database_url("claims", get_settings()), "claims", pool_size=1)
    try:
        async with db.session() as session, session.begin():
            if args.command == "load":
                done = await load_file(session, args.kind, args.data, args.file.name, args.effective, args.by)
                what = f"{done['kind']} version {done['version']}, effective {done['effective_date']}"
                print(f"already loaded: {what}" if done["already"] else f"loaded {what}: {done['rows']} rows")
            elif args.command == "withdraw":
                kind = await store.withdraw(session, args.version)
                print(f"withdrew {kind} version {args.version}" if kind else f"no version {args.version}")
                return 0 if kind else 1
            else:
                for row in await store.loads(session):
                    print(_LISTED.format(**row))
    finally:
        await db.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "load":
            args.data = args.file.read_bytes()
        return asyncio.run(_run(args))
    except (LayoutError, OSError) as error:
        print(f"error: {getattr(args, 'file', '')}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
