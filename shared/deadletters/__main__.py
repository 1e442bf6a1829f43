"""Dead letters from a shell: `python -m shared.deadletters` (or `make dlq ARGS="..."`).

    list     [--service S] [--topic T] [--reason schema|rule|error] [--status parked|replayed|discarded|any]
             [--older-than 2h] [--event-id ID] [--limit N]
    show     --service S ID [--phi]
    replay   --service S ID
    replay   --service S --all [--topic T] [--reason R] [--older-than AGE] [--event-id ID] [--limit N]
    discard  --service S ID --reason "why"

It uses the service's own database role and the broker from the environment (DATABASE_URL,
KAFKA_BOOTSTRAP_SERVERS, CONSUMER_GROUP_PREFIX, as the services do), and writes an audit entry
for every action (actor `cli:<user>`, or --actor). `--json` prints JSON instead of a table.
docs/runbook-dead-letters.md says when to do which.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from typing import Any

from shared.audit import AuditTrail, write_entry
from shared.config import SERVICE_NAMES, Settings, get_settings, service_database_url
from shared.db import Database
from shared.deadletters import domain, usecases
from shared.deadletters.schemas import DeadLetter
from shared.deadletters.store import Filters
from shared.events.catalogue import TOPICS
from shared.kafka import deadletters_access
from shared.paging import PageQuery


def _queue(service: str, settings: Settings) -> usecases.Queue:
    """A service's dead letters. Every catalogue topic is looked at: the index holds only what
    the service's own group parked, which is on the topics it consumes."""
    db = Database(
        service_database_url(service, settings), service, pool_size=2, application_name="deadletters"
    )
    group = settings.consumer_group_prefix + service
    return usecases.Queue(
        db=db, kafka=deadletters_access(settings), group=group, service=service, topics=TOPICS
    )


def _filters(args: argparse.Namespace) -> Filters:
    status = getattr(args, "status", "parked")
    return Filters(
        topic=args.topic,
        reason=args.reason,
        status=None if status == "any" else status,
        event_id=args.event_id,
        older_than=domain.parse_age(args.older_than) if args.older_than else None,
    )


async def _audit(
    queue: usecases.Queue, actor: str, action: str, resource: str, patient: str | None = None
) -> None:
    trail = AuditTrail("dead_letter", action, actor, resource_id=resource[:128], patient_id=patient)
    await write_entry(queue.db, trail, "success", None)


async def _list(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for service in [args.service] if args.service else SERVICE_NAMES:
        queue = _queue(service, settings)
        try:
            rows, _, _ = await usecases.listing(queue, _filters(args), PageQuery(None, args.limit))
            await _audit(queue, args.actor, "list", args.topic or "*")
        finally:
            await queue.db.dispose()
        found += [{"service": service, **DeadLetter.of(r).model_dump(mode="json")} for r in rows]
    return found


async def _one(args: argparse.Namespace, settings: Settings) -> Any:
    queue = _queue(args.service, settings)
    try:
        if args.command == "show":
            row, record = await usecases.show(queue, args.id)
            payload = (
                domain.readable(record.value) if args.phi else domain.redact(row["event_type"], record.value)
            )
            action = "read-phi" if args.phi else "read"
            await _audit(queue, args.actor, action, str(args.id), domain.patient_of(record.value))
            headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
            return {**DeadLetter.of(row).model_dump(mode="json"), "headers": headers, "payload": payload}
        if args.command == "discard":
            row = await usecases.discard(queue, args.id, args.actor, args.reason)
            await _audit(queue, args.actor, "discard", str(args.id))
            return DeadLetter.of(row).model_dump(mode="json")
        if args.all:
            done = await usecases.replay_matching(queue, _filters(args), args.actor, limit=args.limit)
            await _audit(
                queue, args.actor, "replay", f"matching topic={args.topic or '*'} reason={args.reason or '*'}"
            )
            return {
                "replayed": len(done.ids),
                "ids": [str(i) for i in done.ids],
                "missing": [str(i) for i in done.missing],
            }
        row = await usecases.replay(queue, args.id, args.actor)
        await _audit(queue, args.actor, "replay", str(args.id))
        return DeadLetter.of(row).model_dump(mode="json")
    finally:
        await queue.db.dispose()


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no dead letters"
    columns = ("service", "id", "topic", "reason", "status", "age_seconds", "attempts", "error")
    lines = [[str(r[c])[:60] for c in columns] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in lines)) for i, c in enumerate(columns)]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in [list(columns), *lines]
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared.deadletters", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--service", choices=SERVICE_NAMES, help="Whose dead letters (list: all when not given)."
    )
    parser.add_argument("--actor", default=f"cli:{getpass.getuser()}", help="Who acts (for the audit trail).")
    parser.add_argument("--json", action="store_true", help="Print JSON.")
    commands = parser.add_subparsers(dest="command", required=True)

    def filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("--topic", help="The original topic.")
        p.add_argument("--reason", choices=domain.REASONS)
        p.add_argument("--older-than", help="An age: 90s, 15m, 2h, 3d.")
        p.add_argument("--event-id")
        p.add_argument("--limit", type=int, default=200)

    filters(listing := commands.add_parser("list", help="Dead letters, newest first."))
    listing.add_argument("--status", choices=[*domain.STATUSES, "any"], default="parked")
    show = commands.add_parser("show", help="One dead letter with headers and payload.")
    show.add_argument("id", type=uuid.UUID)
    show.add_argument("--phi", action="store_true", help="Show PHI (audited as read-phi).")
    replay = commands.add_parser("replay", help="Send one, or --all that match, back to the original topic.")
    replay.add_argument("id", type=uuid.UUID, nargs="?")
    replay.add_argument("--all", action="store_true", help="Every parked one that matches the filters.")
    filters(replay)
    discard = commands.add_parser("discard", help="Give up on one, saying why.")
    discard.add_argument("id", type=uuid.UUID)
    discard.add_argument("--reason", required=True, help="Why (kept with it and in the audit trail).")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "list" and not args.service:
        parser.error(f"{args.command} needs --service")
    if args.command == "replay" and bool(args.id) == bool(args.all):
        parser.error("replay takes an id or --all")
    if args.command == "discard" and len(args.reason.strip()) < 3:
        parser.error("discard needs a reason")
    try:
        result: Any = asyncio.run(
            _list(args, get_settings()) if args.command == "list" else _one(args, get_settings())
        )
    except (usecases.NotFound, usecases.NotAllowed, usecases.Gone, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json or args.command != "list":
        print(json.dumps(result, indent=2, default=str))
    else:
        print(_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
