"""What the benchmarks share.

Each benchmark works in a database of its own, recreated on every run, so running services,
tests and other benchmarks on the same PostgreSQL are not disturbed and a run never starts from
a previous run's rows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.config import Settings, asyncpg_dsn
from shared.events.signing import PartnerKeys, PartnerSigner, dev_keys
from shared.kafka import KafkaAccess


async def fresh_database(admin_url: str, name: str) -> str:
    """Drop database `name` if it exists (disconnecting whoever still uses it, such as a run
    that was killed), create it empty, and return `admin_url` pointing at it.

    `admin_url` must be allowed to create databases; the caller migrates the new one."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


async def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name` (disconnecting whoever still uses it), for a benchmark that cleans up
    after itself instead of leaving its rows for inspection."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def free_port() -> int:
    """A loopback port nothing listens on now, for a server a benchmark starts in its own process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ParkingDlq:
    """Stands in for the consumer's dead-letter producer when records are pushed through
    `EventConsumer.process` without a broker: keeps (topic, headers) of what would be parked."""

    def __init__(self) -> None:
        self.parked: list[tuple[str, Any]] = []

    async def send_and_wait(self, topic: str, *, value: bytes, key: bytes | None, headers: Any) -> None:
        self.parked.append((topic, headers))


# The commit the before/after benches compare against by default: main just before issue 16
# item 9 (history-scale indexes, KPIs query, paged reconciliation). "merge-base with main" would
# be HEAD itself once the change is on main, and the bench would compare the code with itself.
BEFORE_REF = "2c5b32e"

ScratchRun = Callable[[argparse.Namespace, str, str, Path], Awaitable[dict[str, Any]]]


def add_before_after_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every before/after bench shares: which commit is 'before', and --keep."""
    parser.add_argument("--before-ref", default=BEFORE_REF, help="the 'before' commit")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")


def run_in_scratch_database(args: argparse.Namespace, suffix: str, run: ScratchRun) -> dict[str, Any]:
    """Run a before/after bench on its own database (`<admin db>_<suffix>`) and a temporary
    directory for the 'before' source tree, and drop the database afterwards unless --keep;
    the result carries the arguments and the CPU count, so figures say what machine made them."""
    admin = os.environ.get("DATABASE_URL", Settings().database_url)
    name = f"{urlsplit(admin).path.lstrip('/') or 'postgres'}_{suffix}"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = asyncio.run(run(args, admin, name, Path(tmp)))
        finally:
            if not args.keep:
                asyncio.run(drop_database(admin, name))
    result.update(args=vars(args), cpus=os.cpu_count())
    return result


def admin_kafka(bootstrap: str | None = None) -> KafkaAccess:
    """The benchmarks' access to the broker: its super user (they make and delete topics and
    consumer groups of their own), from .state/kafka/credentials.json; `bootstrap` overrides
    the address."""
    from dataclasses import replace

    from deploy import kafka_auth

    found = kafka_auth.access(kafka_auth.ADMIN)
    return replace(found, bootstrap=bootstrap) if bootstrap else found


@contextlib.contextmanager
def throwaway_partner_keys() -> Iterator[tuple[Path, PartnerSigner, PartnerKeys]]:
    """Partner keys for a benchmark that replays partner events offline, deleted afterwards:
    the private keys' directory, a signer (signs as the partner would) and the public keys (a
    consumer verifies with them, as the service does, so the measure includes that check)."""
    with tempfile.TemporaryDirectory(prefix="bench-partner-keys-") as directory:
        root = Path(directory)
        dev_keys(root)
        yield (
            root / "private",
            PartnerSigner.from_dir(root / "private"),
            PartnerKeys.from_dir(root / "public"),
        )
