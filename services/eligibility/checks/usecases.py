"""Running coverage checks: one path for a request that waits and for the background worker.

A request inserts its check with a lease and runs it in a task for up to its budget; if the
payer is slower, it answers 202 and the task goes on (the worker takes the check over if
this process stops). The worker leases pending checks and runs them the same way. Only a
pending row is finished, so two runs of one check (a lease that ran out while the first was
slow) change nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import RowMapping
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility.checks import store
from services.eligibility.checks.domain import (
    MAX_DEFERRALS,
    Vault,
    check_out,
    decoded,
    error_of,
    event_of,
    new_row,
)
from services.eligibility.checks.schemas import CheckIn, CheckOut, RawX12
from services.eligibility.checks.x12 import build_270, inquiry_of
from services.eligibility.coverage.domain import Response271, result_of
from services.eligibility.coverage.x12 import parse_271
from services.eligibility.demographics.domain import mismatches
from services.eligibility.discrepancies.domain import discrepancy_of
from services.eligibility.payers.domain import BreakerOpen, PayerFailure, TransientReply
from services.eligibility.payers.usecases import PayerClient
from services.eligibility.settings import EligibilitySettings
from shared.db import Database
from shared.events import Event, new_event
from shared.outbox import add_event

UNKNOWN_PAYER = {"code": "unknown-payer", "detail": "The payer is no longer configured.", "retryable": False}


@dataclass
class CheckRuntime:
    """What running checks needs in one process; the service's lifespan makes it."""

    settings: EligibilitySettings
    payers: PayerClient
    vault: Vault
    # Checks still running after their request stopped waiting (202), so a stop can hand
    # them back to the queue instead of dropping them.
    tasks: set[asyncio.Task] = field(default_factory=set)
    _control: itertools.count = field(default_factory=lambda: itertools.count(int.from_bytes(os.urandom(3))))

    def control_number(self) -> int:
        return next(self._control) % 1_000_000_000

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def ttls(self) -> dict[str, float]:
        return {p: c.cache_ttl_seconds for p, c in self.payers.payers.items()}


@contextlib.asynccontextmanager
async def running(settings: EligibilitySettings, payers: PayerClient) -> AsyncIterator[CheckRuntime]:
    """The checks runtime for the life of the app: at the end, checks still running for a
    request that stopped waiting are cancelled (each gives its lease back)."""
    rt = CheckRuntime(settings, payers, Vault(settings))
    try:
        yield rt
    finally:
        for task in list(rt.tasks):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*rt.tasks, return_exceptions=True)


def runtime(app: FastAPI) -> CheckRuntime:
    """The checks runtime the service's lifespan made for this app."""
    return app.state.checks


def request_runtime(request: Request) -> CheckRuntime:
    """`runtime` as a route dependency."""
    return runtime(request.app)


# --- new checks ------------------------------------------------------------------------


async def load_for_run(
    session: AsyncSession, rt: CheckRuntime, ids: list[uuid.UUID], *, use_cache: bool = True
) -> dict[uuid.UUID, RowMapping]:
    """The checks with their cache hits, as `run_check` needs them (`loaded=`)."""
    return await store.load_for_run(session, ids, rt.ttls(), use_cache=use_cache)


@dataclass
class Submitted:
    """How a check went within its request's budget: finished (or failed), or still pending."""

    check_id: uuid.UUID
    pending: bool
    failure: PayerFailure | None
    row: RowMapping | None


async def submit_check(
    session: AsyncSession,
    db: Database,
    rt: CheckRuntime,
    body: CheckIn,
    requested_by: str,
    *,
    use_cache: bool,
    budget: float,
    registry: dict[str, Any] | None = None,
) -> Submitted:
    """Insert a check holding its lease, run it, and wait up to `budget` seconds for the end.
    `registry`: the snapshot of the registry copy a check run from it was built from."""
    config = rt.payers.config(body.payer_id)
    lease = datetime.now(UTC) + timedelta(seconds=config.timeout_seconds + rt.settings.lease_seconds)
    row = new_row(rt.vault, body, requested_by, lease_until=lease, registry=registry)
    check_id = row["id"]
    async with session.begin():
        await store.insert_checks(session, [row])
        loaded = (await load_for_run(session, rt, [check_id], use_cache=use_cache)).get(check_id)
    task = rt.spawn(run_owned(db, rt, check_id, use_cache=use_cache, loaded=loaded))
    done, _ = await asyncio.wait({task}, timeout=budget)
    if not done:
        async with db.session() as fresh:
            return Submitted(check_id, True, None, await store.load_check(fresh, check_id))
    failure, finished = task.result()
    if failure is None and finished is None:  # finished elsewhere meanwhile (another replica)
        async with db.session() as fresh:
            finished = await store.load_check(fresh, check_id)
    return Submitted(check_id, False, failure, finished)


# --- running one -------------------------------------------------------------------------


async def run_owned(
    db: Database,
    rt: CheckRuntime,
    check_id: uuid.UUID,
    *,
    background: bool = False,
    use_cache: bool = True,
    loaded: Any = None,
) -> tuple[PayerFailure | None, Any]:
    """Run a check this process holds the lease of: (failure, finished row). A failure is
    returned, not raised (the check row already says what happened). If the process stops
    meanwhile, the lease is given back so the next worker picks the check up at once."""
    try:
        finished = await run_check(
            db, rt, check_id, defer_when_paused=background, use_cache=use_cache, loaded=loaded
        )
        return None, finished
    except PayerFailure as failure:
        return failure, None
    except asyncio.CancelledError:
        await asyncio.shield(release(db, [check_id]))
        raise


async def release(db: Database, ids: list[uuid.UUID]) -> None:
    """Give back the leases of checks this process will not finish."""
    if not ids:
        return
    async with db.session() as session, session.begin():
        await store.release(session, ids)


async def run_check(
    db: Database,
    rt: CheckRuntime,
    check_id: uuid.UUID,
    *,
    defer_when_paused: bool = False,
    use_cache: bool = True,
    loaded: Any = None,
) -> Any:
    """Run one pending check to its end state. Safe to call twice: only a pending row is
    finished, so a duplicate run (lease expired while the first was slow) changes nothing.
    With `defer_when_paused` (background work), a payer whose breaker is open does not fail
    the check: it goes back to the queue until the breaker may close. Returns the finished
    row (None when this call did not finish it)."""
    row = loaded
    if row is None:
        async with db.session() as session:
            row = (await load_for_run(session, rt, [check_id], use_cache=use_cache)).get(check_id)
    if row is None or row["state"] != "pending":
        return None
    row = dict(row)
    if row["payer_id"] not in rt.payers.payers:  # taken out of the payer table since it was queued
        return await _finish(db, rt, row, "failed", error=UNKNOWN_PAYER)
    if row["hit_id"] is not None:
        # The payer's answer is reused; what it contradicts is this request's own.
        sealed = row["hit_demographics"]
        people = rt.vault.open_json(sealed) if sealed is not None else {}
        request = rt.vault.open_json(row["request_enc"])
        result = {**decoded(row["hit_result"]), "demographics_mismatches": mismatches(request, people)}
        found = _compare_with_registry(row, request, people, result)
        return await _finish(
            db,
            rt,
            row,
            "done",
            status=row["hit_status"],
            result=result,
            cached_from=row["hit_id"],
            demographics=sealed,
            found=found,
        )
    return await _ask_payer(db, rt, row, defer_when_paused=defer_when_paused)


async def _ask_payer(db: Database, rt: CheckRuntime, row: dict[str, Any], *, defer_when_paused: bool) -> Any:
    """Send the 270, read the 271, finish the check (failed too, with what was exchanged)."""
    request = rt.vault.open_json(row["request_enc"])
    inquiry = inquiry_of(
        row,
        request,
        payer_name=rt.payers.config(row["payer_id"]).name,
        provider_name=rt.settings.provider_name,
    )
    x12_270 = build_270(inquiry, sender_id=rt.settings.sender_id, control_number=rt.control_number())
    raw_271: list[str] = []

    def parse(reply: str) -> Response271:
        raw_271.append(reply)
        response = parse_271(reply, strict=False)
        if response.status == "error" and response.transient_rejection is not None:
            raise TransientReply(response)
        return response

    try:
        response = await rt.payers.exchange(row["payer_id"], x12_270, parse)
    except BreakerOpen as failure:
        if defer_when_paused and row["attempts"] < MAX_DEFERRALS:
            async with db.session() as session, session.begin():
                await store.defer(session, row["id"], failure.retry_after or 1.0)
            return None
        await _finish(db, rt, row, "failed", error=error_of(failure))  # nothing was sent
        raise
    except PayerFailure as failure:
        reply = raw_271[-1] if raw_271 else None
        await _finish(db, rt, row, "failed", error=error_of(failure), x12_270=x12_270, x12_271=reply)
        raise
    result = result_of(response, list(row["service_type_codes"]))
    people = response.demographics.as_dict()
    result["demographics_mismatches"] = mismatches(request, people)
    found = _compare_with_registry(row, request, people, result)
    return await _finish(
        db,
        rt,
        row,
        "done",
        status=response.status,
        result=result,
        x12_270=x12_270,
        x12_271=raw_271[-1],
        demographics=rt.vault.seal_json(people),
        found=found,
    )


def _compare_with_registry(
    row: dict[str, Any], request: dict[str, Any], people: dict[str, Any], result: dict[str, Any]
) -> Event | None:
    """A check run from the registry: the 271's people and other payers against the snapshot
    it was built from; `result` keeps the revision and the field names (no values, it is kept
    in clear), the returned eligibility.discrepancy_found has both values. None otherwise."""
    snapshot = request.get("registry")
    result["registry_revision"], result["registry_discrepancies"] = None, []
    if snapshot is None:
        return None
    result["registry_revision"] = snapshot["revision"]
    at = datetime.now(UTC)
    found = discrepancy_of(row["id"], row["patient_id"], snapshot, people, result["other_payers"], at)
    if found is None:
        return None
    result["registry_discrepancies"] = [f.field for f in found.fields]
    return new_event(found)


async def _finish(
    db: Database,
    rt: CheckRuntime,
    row: dict[str, Any],
    state: str,
    *,
    status: str | None = None,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    cached_from: uuid.UUID | None = None,
    x12_270: str | None = None,
    x12_271: str | None = None,
    demographics: bytes | None = None,
    found: Event | None = None,
) -> Any:
    """The end state, the sealed raw X12 and people, `eligibility.checked` and (a check run from
    the registry whose 271 disagrees with it) `eligibility.discrepancy_found` in one
    transaction."""
    at = datetime.now(UTC)
    async with db.session() as session, session.begin():
        finished = await store.finish(
            session,
            row["id"],
            state,
            at=at,
            status=status,
            result=result,
            error=error,
            cached_from=cached_from,
            demographics=demographics,
        )
        if finished is None:
            return None
        if x12_270 is not None:
            sealed_271 = rt.vault.seal(x12_271) if x12_271 is not None else None
            await store.insert_raw_x12(session, row["id"], rt.vault.seal(x12_270), sealed_271)
        if result is not None:
            add_event(session, new_event(event_of(row["id"], row, result, at)))
        if found is not None:
            add_event(session, found)
    return finished


# --- reading ---------------------------------------------------------------------------


async def load_check(session: AsyncSession, check_id: uuid.UUID) -> RowMapping | None:
    """The check's row (with `cached_from`, which the API does not show), or None."""
    return await store.load_check(session, check_id)


async def find_check(session: AsyncSession, check_id: uuid.UUID) -> CheckOut | None:
    """The check without the people its 271 names (what estimates need)."""
    row = await store.load_check(session, check_id)
    return None if row is None else check_out(row)


async def latest_coverage(
    session: AsyncSession, vault: Vault, patient_id: str, payer_id: str | None
) -> CheckOut | None:
    row = await store.latest_coverage(session, patient_id, payer_id)
    return None if row is None else check_out(row, vault)


async def raw_x12(
    session: AsyncSession, vault: Vault, check_id: uuid.UUID, cached_from: uuid.UUID | None
) -> RawX12 | None:
    """The raw 270 and 271 of the payer call that answered the check (the call it reused, for
    cache hits), opened; None when no payer was called (yet)."""
    source = cached_from or check_id
    raw = await store.load_raw_x12(session, source)
    if raw is None:
        return None
    return RawX12(
        check_id=check_id,
        source_check_id=source,
        x12_270=vault.open(raw["x12_270"]),
        x12_271=vault.open(raw["x12_271"]) if raw["x12_271"] is not None else None,
    )
