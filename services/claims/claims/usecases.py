"""What is done to a claim: created (by a person, or from a batch of encounters), read,
listed, changed, moved, corrected and voided.

Plain functions over a session; callers (routes and event handlers) own the transaction,
so a claim's change, its status history rows and its outbox events commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims import domain, store
from services.claims.claims.schemas import (
    ClaimData,
    ClaimFilters,
    ClaimOut,
    ClaimPatch,
    ClaimSummary,
    HistoryEntry,
)
from services.claims.claims.tables import Claim
from services.claims.denials import store as denials_store
from services.claims.reference import store as reference
from services.claims.settings import get_claims_settings
from services.claims.submission import usecases as submission
from shared.consumer import PermanentError
from shared.events import Event
from shared.events.catalogue import EncounterCompleted
from shared.outbox import add_events
from shared.paging import CursorPage, DateRange, PageQuery, paginate
from shared.problems import ProblemError


async def get_claim(session: AsyncSession, claim_id: uuid.UUID, *, lock: bool = False) -> Claim:
    """The claim, or a 404 problem; locked for update when the caller is about to change it."""
    claim = await store.get_claim(session, claim_id, lock=lock)
    if claim is None:
        raise ProblemError(404, "not-found", "Claim not found", "No claim has this id.")
    return claim


async def describe(session: AsyncSession, claim: Claim) -> ClaimOut:
    """A claim as the API shows it: its content and its whole status history."""
    return ClaimOut(
        **ClaimSummary.model_validate(claim, from_attributes=True).model_dump(),
        data=domain.data_of(claim),
        scrub=claim.scrub,
        adjudication=claim.adjudication,
        history=[
            HistoryEntry.model_validate(h, from_attributes=True)
            for h in await store.history(session, claim.id)
        ],
    )


async def list_claims(
    session: AsyncSession, filters: ClaimFilters, dates: DateRange, page: PageQuery
) -> CursorPage[ClaimSummary]:
    """One page of claims, newest first."""
    stmt = store.list_statement(filters, dates, domain.now())
    rows, cursor = await paginate(session, stmt, page, Claim.created_at, Claim.id)
    items = [ClaimSummary.model_validate(c, from_attributes=True) for c in rows]
    return CursorPage[ClaimSummary](items=items, next_cursor=cursor)


async def create(session: AsyncSession, data: ClaimData, actor: str, **links: Any) -> Claim:
    """A new draft claim and its first history row."""
    claim = domain.new_claim(data, actor, **links)
    await store.add_claim(session, claim, domain.created_row(claim, actor))
    return claim


def set_status(
    session: AsyncSession, claim: Claim, to_status: str, actor: str, reason: str | None = None
) -> None:
    """Move the claim (409 if the lifecycle forbids it) and stage it with its history row."""
    store.stage(session, claim, [domain.transition(claim, to_status, actor, reason)])


async def update(session: AsyncSession, claim: Claim, patch: ClaimPatch, actor: str) -> None:
    """Change an editable claim: what is sent replaces what was there; it is a draft again."""
    if claim.status not in domain.EDITABLE:
        raise ProblemError(
            409,
            "not-editable",
            "The claim can no longer be changed",
            f"A {claim.status} claim is with the payer; send a correction (POST .../corrections).",
        )
    changes = patch.model_dump(mode="json", exclude_unset=True)
    merged = ClaimData.model_validate({**claim.data, **changes})
    domain.reject_invalid(merged)
    domain.replace_data(claim, merged)
    set_status(session, claim, "draft", actor, "edited: " + ", ".join(sorted(changes)))


async def follow_on(
    session: AsyncSession, claim: Claim, frequency: Literal["7", "8"], changes: dict[str, Any], actor: str
) -> Claim:
    """A replacement (7) or void (8) of a claim the payer has: a new claim pointing at the
    original's payer control number, submitted at once; the original is closed and its open
    denials are worked off."""
    merged = domain.follow_on_data(claim, frequency, changes)
    domain.reject_invalid(merged)
    new = await create(session, merged, actor, original_claim_id=claim.id)
    await submission.submit_claim(session, new, actor)
    verb = "corrected" if frequency == "7" else "voided"
    await denials_store.resolve_open(session, claim.id, f"{verb}: {new.patient_control_number}", domain.now())
    reason = f"{'replaced' if frequency == '7' else 'voided'} by {new.patient_control_number}"
    set_status(session, claim, "closed", actor, reason)
    return new


def _actor(event: Event) -> str:
    return f"event:{event.type}:{event.id}"


async def create_from_encounters(session: AsyncSession, events: Sequence[Event]) -> None:
    """A claim per encounter (once: the encounter id is unique), scrubbed, and submitted when
    clean if the practice's policy says so; encounters from EHRs this practice does not take
    claims from are ignored.

    A poll's encounters cost a fixed handful of statements (known encounters, the scrubber's
    three lookups, control numbers, one INSERT per table), not a handful each."""
    sources = [s.strip() for s in get_claims_settings().encounter_sources.split(",") if s.strip()]
    ours = [e for e in events if not sources or e.source in sources]
    if not ours:
        return
    known = await store.known_encounters(session, [e.data.encounter_id for e in ours])  # type: ignore[attr-defined]
    items: list[submission.Submission] = []
    for event in ours:
        enc = event.data
        assert isinstance(enc, EncounterCompleted)
        if enc.encounter_id in known:
            continue
        known.add(enc.encounter_id)
        try:
            data = domain.claim_data_from_encounter(enc)
        except ValidationError as exc:
            where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
            raise PermanentError(f"encounter cannot become a claim: {where}") from None
        claim = domain.new_claim(data, _actor(event), encounter_id=enc.encounter_id)
        items.append(submission.Submission(claim, data, _actor(event), cause=event))
    created = [domain.created_row(item.claim, item.actor) for item in items]
    outcome = await submission.submit_claims(session, items, send=reference.auto_submit_encounter_claims())
    await store.insert_new(session, [item.claim for item in items], created + outcome.rows)
    await add_events(session, outcome.events)
