"""Releasing held sets, in one transaction each, audited by the route and recorded on the
set (who, when, what, why): a conflict posted as an additional remittance, posted as the
replacement of the original (whose claim postings are reversed first, as a payer's CLP02=22
reversal would), or dismissed; the sets waiting for a payer, decided and posted the moment
staff register or map it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.holds.schemas import Resolution
from services.payments.intake import store, usecases as intake
from services.payments.intake.domain import CONFLICT, DISMISSED, PAYER_NEEDED, POSTED, REPLACED
from services.payments.intake.usecases import Candidate, Incoming
from services.payments.postings.usecases import why_not_withdrawable, withdraw_remittance
from services.payments.remittances import usecases as remittances
from shared.paging import DateRange, PageQuery
from shared.problems import ProblemError


def _closed(detail: str) -> ProblemError:
    return ProblemError(409, "review-closed", "This set is not waiting for review", detail)


async def resolve(
    session: AsyncSession, set_id: uuid.UUID, action: Resolution, reason: str, actor: str
) -> Any | None:
    """Resolve a conflict held for review; None when there is no such set, 409 when it is
    not an open conflict (resolved already) or the remittance to replace was replaced."""
    async with session.begin():
        row = await store.lock_set(session, set_id)
        if row is None:
            return None
        if row.outcome != CONFLICT:
            raise _closed("It was resolved already, or it is not a conflict.")
        now = datetime.now(UTC)
        values: dict[str, Any] = {"resolution": action.value, "resolution_reason": reason}
        values |= {"resolved_by": actor, "resolved_at": now}
        files = [row.file_id]
        if action == Resolution.dismiss:
            values["outcome"] = DISMISSED
        else:
            found = await intake.reread(session, row)
            assert found is not None, "a held conflict was read whole once"
            result = intake.result_of(row)
            result.remittance_id = uuid.uuid4()
            candidate = Candidate(result, found.remittance, Incoming(row.x12, row.source, row.actor), now)
            await store.lock_traces(session, [candidate.key])
            replaces = None
            if action == Resolution.replace:
                replaces = row.remittance_id
                files.append(await _replace(session, replaces, actor, now))
            kind = "replacement" if replaces else "additional"
            await remittances.post_new(
                session, [intake.new_remittance(candidate, kind=kind, replaces=replaces)]
            )
            values |= {"outcome": POSTED, "remittance_id": result.remittance_id}
        await store.update_set(session, set_id, values)
        await intake.refresh_files(session, files)
    (updated,) = await store.sets_by_ids(session, [set_id])
    return updated


async def _replace(session: AsyncSession, remittance_id: uuid.UUID, actor: str, now: datetime) -> uuid.UUID:
    """Undo the remittance a conflict replaces and mark its set replaced; returns its file."""
    if await remittances.replacement_of(session, remittance_id) is not None:
        raise _closed("The remittance it conflicts with was replaced already; review that one's replacement.")
    why = await why_not_withdrawable(session, remittance_id)
    if why is not None:
        raise ProblemError(
            409,
            "not-replaceable",
            "The original remittance cannot be replaced here",
            f"Its postings cannot be undone: {why}. Post this set as an additional remittance or dismiss it.",
        )
    await withdraw_remittance(session, remittance_id, actor=actor, now=now)
    (link,) = await store.file_ids_of_remittances(session, [remittance_id])
    await store.update_set(
        session,
        link.set_id,
        {"outcome": REPLACED, "resolution": "replaced", "resolved_by": actor, "resolved_at": now},
    )
    return link.file_id


async def map_payer(
    session: AsyncSession, payer_id: str, name: str, identifiers: list[str], actor: str
) -> Sequence[Any]:
    """Register or map a payer, then decide and post every set that waited for it (those
    carrying one of its identifiers that now resolve to a payer), in the same transaction.
    Returns the sets released."""
    async with session.begin():
        await remittances.register_payer(session, payer_id, name, identifiers)
        waiting = await store.waiting_for(session, [payer_id, *identifiers])
        now = datetime.now(UTC)
        candidates = []
        for row in waiting:
            found = await intake.reread(session, row)
            payer = await remittances.resolve_payer(session, found.remittance) if found else None
            if found is None or payer is None:
                continue
            result = intake.result_of(row)
            result.payer_id = payer
            candidates.append(
                Candidate(result, found.remittance, Incoming(row.x12, row.source, row.actor), now)
            )
        new = await intake.decide(session, candidates)
        for c in candidates:
            s = c.result
            await store.update_set(
                session,
                s.id,
                {
                    "outcome": s.outcome,
                    "payer_id": s.payer_id,
                    "remittance_id": s.remittance_id,
                    "duplicate_of": s.duplicate_of,
                    "differences": s.differences,
                    "resolution": "payer_mapped",
                    "resolved_by": actor,
                    "resolved_at": now,
                },
            )
        await remittances.post_new(session, new)
        await intake.refresh_files(session, [row.file_id for row in waiting])
    return await store.sets_by_ids(session, [c.result.id for c in candidates]) if candidates else []


async def reviews(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    trace_number: str | None,
    include_resolved: bool,
) -> tuple[Sequence[Any], str | None]:
    """Conflicts held for review, oldest first (with `include_resolved`, the resolved too)."""
    resolutions = [r.value for r in Resolution] if include_resolved else []
    return await store.list_sets(
        session, page, dates, outcomes=[CONFLICT], resolutions=resolutions, trace_number=trace_number
    )


async def payer_needed(
    session: AsyncSession, page: PageQuery, dates: DateRange, *, include_resolved: bool
) -> tuple[Sequence[Any], str | None]:
    """Sets waiting for their payer, oldest first (with `include_resolved`, those released)."""
    resolutions = ["payer_mapped"] if include_resolved else []
    return await store.list_sets(session, page, dates, outcomes=[PAYER_NEEDED], resolutions=resolutions)


async def review(session: AsyncSession, set_id: uuid.UUID) -> Any | None:
    """A conflict, open or resolved; None for any other set."""
    found = await store.sets_by_ids(session, [set_id])
    if not found or (found[0].outcome != CONFLICT and found[0].resolution not in set(Resolution)):
        return None
    return found[0]
