"""The one way an 835 comes in, for an upload, `remittance.received` and a repair alike
(`receipts` is the front door that calls these; `holds` works what is held).

1. Keep the file, in a transaction of its own, before anything reads it: a crash or a
   refusal afterwards never loses it (`keep`).
2. Read every transaction set on its own, with all of its errors (`remittances.x12`).
3. Decide each readable set under a lock per payer and trace number (`decide`): the same
   content posted before is a duplicate; other content under a posted trace is a conflict,
   held for review; a set whose payer we cannot resolve waits for staff; the rest post,
   through `remittances.post_new`, a whole poll with one statement per table.
4. Record each set and the file's outcome, errors and counts.

Held sets are decided again in `holds` (a conflict resolved, a payer mapped) through the
same `decide` and `remittances.post_new`."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.intake import domain, store
from services.payments.intake.domain import CONFLICT, DUPLICATE, PAYER_NEEDED, POSTED, REFUSED
from services.payments.limits import usecases as limits
from services.payments.remittances import usecases as remittances
from services.payments.remittances.domain import Read835, Remittance835, Set835
from services.payments.remittances.usecases import NewRemittance
from services.payments.remittances.x12 import read_835
from shared.events import Event


@dataclass
class Incoming:
    """One 835 file on its way in: its text, where it came from and who sent it; `payer_id`
    is the payer its event named; `repair_of` the received file it corrects."""

    x12_text: str
    source: str
    actor: str
    payer_id: str | None = None
    now: datetime | None = None
    event: Event | None = None
    repair_of: uuid.UUID | None = None
    file_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class SetResult:
    """What became of one transaction set (a `received_sets` row in the making)."""

    id: uuid.UUID
    index: int
    control_number: str
    trace_number: str | None
    amount: Decimal | None
    digest: str
    outcome: str = REFUSED
    payer_id: str | None = None
    remittance_id: uuid.UUID | None = None
    duplicate_of: uuid.UUID | None = None
    answers_as: str = REFUSED  # a duplicate of a held set answers as that set
    errors: list[dict[str, Any]] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)
    payer_name: str | None = None
    payer_identifiers: list[dict[str, str]] = field(default_factory=list)


@dataclass
class FileResult:
    """What became of a received file and each of its sets."""

    file_id: uuid.UUID
    outcome: str
    errors: list[dict[str, Any]]  # `Issue.as_json()`: envelope errors, then each set's
    sets: list[SetResult]


@dataclass
class Candidate:
    """A readable set whose payer is known, to be decided: duplicate, conflict or posted."""

    result: SetResult
    remittance: Remittance835
    incoming: Incoming
    now: datetime

    @property
    def key(self) -> tuple[str, str]:
        assert self.result.payer_id is not None
        return (self.result.payer_id, self.remittance.trace_number)


async def keep(session: AsyncSession, files: Sequence[Incoming]) -> None:
    """Store the files as received, in the caller's transaction (its own: commit it before
    processing). A file of an event kept before keeps its first id."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": f.file_id,
            "sha256": hashlib.sha256(f.x12_text.encode()).hexdigest(),
            "source": f.source,
            "actor": f.actor,
            "event_id": f.event.id if f.event else None,
            "payer_hint": f.payer_id,
            "received_at": f.now or now,
            "x12": f.x12_text,
            "repair_of": f.repair_of,
        }
        for f in files
    ]
    kept = await store.keep_files(session, rows)
    for f in files:
        if f.event is not None:
            f.file_id = kept[f.event.id]


async def process(
    session: AsyncSession, files: Sequence[Incoming], reads: Sequence[Read835] | None = None
) -> list[FileResult]:
    """Process kept files in the caller's transaction, in order, each as if alone (its own
    `now`); a file processed before (a redelivery, a race with the retry worker) is left
    as it is and answered as it was."""
    fresh = await store.lock_unprocessed(session, [f.file_id for f in files])
    reads = list(reads) if reads is not None else [read_835(f.x12_text) for f in files]
    bounds = await limits.current(session)
    results: list[FileResult] = []
    candidates: list[Candidate] = []
    unknown: list[SetResult] = []
    last: datetime | None = None
    for incoming, read in zip(files, reads, strict=True):
        if incoming.file_id not in fresh:
            results.append(await stored_result(session, incoming.file_id))
            continue
        now = incoming.now or datetime.now(UTC)
        if incoming.now is None and last is not None and now <= last:
            now = last + timedelta(microseconds=1)
        last = now
        domain.refuse_over_limits(read, bounds)
        result = FileResult(incoming.file_id, REFUSED, [e.as_json() for e in read.all_errors], [])
        for s in read.sets:
            set_result = _set_result(s)
            result.sets.append(set_result)
            if s.ok:
                set_result.payer_id = incoming.payer_id or await remittances.resolve_payer(
                    session, s.remittance
                )
                if set_result.payer_id is None:
                    unknown.append(set_result)
                else:
                    candidates.append(Candidate(set_result, s.remittance, incoming, now))
        results.append(result)
    await _wait_for_payer(session, unknown)
    new = await decide(session, candidates)
    await store.insert_sets(
        session, [_set_row(r, s, f) for f, r in _fresh(files, results, fresh) for s in r.sets]
    )
    await remittances.post_new(session, new)
    await store.finish_files(session, [_finish_row(r) for _, r in _fresh(files, results, fresh)])
    return results


def _fresh(
    files: Sequence[Incoming], results: list[FileResult], fresh: set[uuid.UUID]
) -> list[tuple[Incoming, FileResult]]:
    return [(f, r) for f, r in zip(files, results, strict=True) if f.file_id in fresh]


def _set_result(s: Set835) -> SetResult:
    r = s.remittance
    return SetResult(
        id=uuid.uuid4(),
        index=s.index,
        control_number=s.control_number,
        trace_number=r.trace_number or None,
        amount=r.deposit if s.deposit_read else None,
        digest=s.digest,
        errors=[e.as_json() for e in s.errors],
        payer_name=r.payer_name or None,
        payer_identifiers=[{"qualifier": q, "value": v} for q, v in r.payer_sources],
    )


async def _wait_for_payer(session: AsyncSession, unknown: list[SetResult]) -> None:
    """Sets whose payer we cannot resolve wait for staff; the same set already waiting (same
    trace number and content) is a duplicate of that one."""
    waiting = await store.waiting_same(session, [(s.trace_number or "", s.digest) for s in unknown])
    for s in unknown:
        key = (s.trace_number or "", s.digest)
        if key in waiting:
            s.outcome, s.answers_as, s.duplicate_of = DUPLICATE, PAYER_NEEDED, waiting[key]
        else:
            s.outcome = s.answers_as = PAYER_NEEDED
            waiting[key] = s.id


@dataclass
class _Held:
    id: uuid.UUID
    outcome: str
    differences: list[dict[str, Any]]


@dataclass
class _Known:
    id: uuid.UUID
    digest: str | None
    replaced_by: uuid.UUID | None


async def decide(session: AsyncSession, candidates: Sequence[Candidate]) -> list[NewRemittance]:
    """Decide each set against what was posted or held under its payer and trace number,
    holding their locks until the caller commits: the same content is a duplicate (of the
    remittance, or of the held set); other content under a posted trace is a conflict,
    naming what differs; the rest are new remittances, returned to post."""
    keys = sorted({c.key for c in candidates})
    await store.lock_traces(session, keys)
    known: dict[tuple[str, str], list[_Known]] = {k: [] for k in keys}
    for r in await remittances.of_traces(session, keys):
        digest = r.set_sha256 or await _legacy_digest(session, r)
        known[(r.payer_id, r.trace_number)].append(_Known(r.id, digest, r.replaced_by))
    held = {
        (h.payer_id, h.trace_number, h.sha256): _Held(h.id, h.outcome, h.differences)
        for h in await store.held_of_traces(session, keys)
    }
    new = []
    for c in candidates:
        s, posted = c.result, known[c.key]
        same = next((k for k in posted if k.digest == s.digest), None)
        if same is not None:
            s.outcome = s.answers_as = DUPLICATE
            s.remittance_id = same.id
        elif (*c.key, s.digest) in held:
            first = held[(*c.key, s.digest)]
            s.outcome, s.duplicate_of, s.differences = DUPLICATE, first.id, first.differences
            s.answers_as = CONFLICT if first.outcome == CONFLICT else DUPLICATE
        elif posted:
            current = next((k for k in reversed(posted) if k.replaced_by is None), posted[-1])
            s.outcome = s.answers_as = CONFLICT
            s.remittance_id = current.id
            s.differences = [d.as_json() for d in await _differences(session, current.id, c.remittance)]
            held[(*c.key, s.digest)] = _Held(s.id, CONFLICT, s.differences)
        else:
            s.outcome = s.answers_as = POSTED
            s.remittance_id = uuid.uuid4()
            posted.append(_Known(s.remittance_id, s.digest, None))
            new.append(new_remittance(c))
    return new


def new_remittance(
    c: Candidate, *, kind: str = "original", replaces: uuid.UUID | None = None
) -> NewRemittance:
    s = c.result
    assert s.remittance_id is not None and s.payer_id is not None
    return NewRemittance(
        id=s.remittance_id,
        payer_id=s.payer_id,
        remittance=c.remittance,
        digest=s.digest,
        received_set_id=s.id,
        now=c.now,
        source=c.incoming.source,
        actor=c.incoming.actor,
        event=c.incoming.event,
        kind=kind,
        replaces=replaces,
    )


async def reread(session: AsyncSession, set_row: Any) -> Set835 | None:
    """A kept set read again from its file: the one with its digest, or (posted before
    digests were kept) with its trace number."""
    read = read_835(set_row.x12)
    for s in read.sets:
        if (set_row.sha256 and s.digest == set_row.sha256) or (
            not set_row.sha256 and s.remittance.trace_number == set_row.trace_number
        ):
            return s
    return None


async def _legacy_digest(session: AsyncSession, remittance: Any) -> str | None:
    """The digest of a remittance posted before digests were kept, from its file (once)."""
    row = (
        await store.set_with_file(session, remittance.received_set_id) if remittance.received_set_id else None
    )
    found = await reread(session, row) if row is not None else None
    if found is None:
        return None
    await remittances.record_digest(session, remittance.id, found.digest)
    await store.update_set(session, row.id, {"sha256": found.digest})
    return found.digest


async def _differences(
    session: AsyncSession, remittance_id: uuid.UUID, new: Remittance835
) -> list[domain.Difference]:
    """What differs between the remittance posted under the trace and the new set."""
    (link,) = await store.file_ids_of_remittances(session, [remittance_id]) or [None]
    row = await store.set_with_file(session, link.set_id) if link is not None else None
    posted = await reread(session, row) if row is not None else None
    if posted is None:
        return [domain.Difference("ST", "the set differs from the posted remittance")]
    return domain.differences(posted.remittance, new)


def _set_row(r: FileResult, s: SetResult, f: Incoming) -> dict[str, Any]:
    return {
        "id": s.id,
        "file_id": r.file_id,
        "set_index": s.index,
        "control_number": s.control_number,
        "trace_number": s.trace_number,
        "payer_id": s.payer_id,
        "payer_name": s.payer_name,
        "payer_identifiers": s.payer_identifiers,
        "amount": s.amount,
        "sha256": s.digest,
        "outcome": s.outcome,
        "remittance_id": s.remittance_id,
        "duplicate_of": s.duplicate_of,
        "errors": s.errors,
        "differences": s.differences,
        "created_at": f.now or datetime.now(UTC),
    }


def _finish_row(r: FileResult) -> dict[str, Any]:
    r.outcome = domain.file_outcome(s.outcome for s in r.sets)
    return {
        "id": str(r.file_id),
        "outcome": r.outcome,
        "errors": r.errors,
        "counts": domain.counts(s.outcome for s in r.sets),
        "at": datetime.now(UTC).isoformat(),
    }


async def stored_result(session: AsyncSession, file_id: uuid.UUID) -> FileResult:
    """A processed file's result as stored."""
    row = await store.file(session, file_id)
    sets = [result_of(s) for s in await store.sets_of(session, file_id)]
    return FileResult(file_id, row.outcome, row.errors, sets)


def result_of(row: Any) -> SetResult:
    """A stored set (a `received_sets` row) as a SetResult, to decide it again."""
    return SetResult(
        id=row.id,
        index=row.set_index,
        control_number=row.control_number,
        trace_number=row.trace_number,
        amount=row.amount,
        digest=row.sha256 or "",
        outcome=row.outcome,
        payer_id=row.payer_id,
        remittance_id=row.remittance_id,
        duplicate_of=row.duplicate_of,
        answers_as=row.outcome,
        errors=row.errors,
        differences=row.differences,
        payer_name=row.payer_name,
        payer_identifiers=row.payer_identifiers,
    )


async def refresh_files(session: AsyncSession, file_ids: Sequence[uuid.UUID]) -> None:
    """A file's outcome and counts again, after staff worked one of its sets."""
    for file_id in dict.fromkeys(file_ids):
        outcomes = [s.outcome for s in await store.sets_of(session, file_id)]
        repaired = not outcomes and any(
            o not in (REFUSED, "received") for _, o in await store.repairs_of(session, file_id)
        )
        await store.update_file(
            session, file_id, domain.file_outcome(outcomes, repaired=repaired), domain.counts(outcomes)
        )
