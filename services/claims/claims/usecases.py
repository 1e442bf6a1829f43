"""What is done to a claim: created, read, listed, changed and moved. (Sending it, and the
claims that are made to be sent at once — from encounters, corrections, voids — are the
submission's.)

Plain functions over a session; callers (routes and event handlers) own the transaction,
so a claim's change, its status history rows and its outbox events commit together.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims import domain, store
from services.claims.claims.schemas import (
    ClaimData,
    ClaimFilters,
    ClaimOut,
    ClaimPatch,
    ClaimRequest,
    ClaimSummary,
    HistoryEntry,
)
from services.claims.claims.tables import Claim
from services.claims.followups import usecases as followups
from services.claims.institutional import usecases as institutional
from services.claims.providers import usecases as providers
from services.claims.receivables import usecases as receivables
from services.claims.registry import domain as registry, usecases as registry_copies
from shared.paging import CursorPage, DateRange, PageQuery, paginate
from shared.problems import FieldError, ProblemError, invalid


async def get_claim(session: AsyncSession, claim_id: uuid.UUID, *, lock: bool = False) -> Claim:
    """The claim, or a 404 problem; locked for update when the caller is about to change it."""
    claim = await store.get_claim(session, claim_id, lock=lock)
    if claim is None:
        raise ProblemError(404, "not-found", "Claim not found", "No claim has this id.")
    return claim


async def describe(session: AsyncSession, claim: Claim) -> ClaimOut:
    """A claim as the API shows it: its content, its whole status history and its A/R."""
    owed, denied = await receivables.claim_position(session, claim)
    return ClaimOut(
        **ClaimSummary.model_validate(claim, from_attributes=True).model_dump(),
        data=domain.data_of(claim),
        scrub=claim.scrub,
        adjudication=claim.adjudication,
        history=[
            HistoryEntry.model_validate(h, from_attributes=True)
            for h in await store.history(session, claim.id)
        ],
        status_answers=await followups.answers(session, claim.id),
        insurance_balance=owed,
        insurance_denied=denied,
    )


async def list_claims(
    session: AsyncSession, filters: ClaimFilters, dates: DateRange, page: PageQuery
) -> CursorPage[ClaimSummary]:
    """One page of claims, newest first."""
    stmt = store.list_statement(filters, dates, domain.now())
    rows, cursor = await paginate(session, stmt, page, Claim.created_at, Claim.id)
    items = [ClaimSummary.model_validate(c, from_attributes=True) for c in rows]
    return CursorPage[ClaimSummary](items=items, next_cursor=cursor)


async def with_providers(session: AsyncSession, data: ClaimData) -> ClaimData:
    """The claim's providers completed from the practice's provider registry by NPI (what the
    caller left out, everything when it sent only the NPI, is the registry's), and an inpatient
    claim's MS-DRG from the grouper: what is stored is what the 837 is written from."""
    registered = await providers.registry(session, domain.provider_npis(data))
    return institutional.with_drg(domain.with_registry(data, registered))


async def from_request(session: AsyncSession, body: ClaimRequest) -> ClaimData:
    """A posted claim completed from the registry copy where it carries no coverage or patient
    (no re-typing); 422 naming `body.payer_id` when neither the request nor the copy gives a
    payer, and `body.subscriber` when the coverage on file cannot be billed as it is."""
    values = body.model_dump(mode="json", exclude={"payer_id"} if body.payer_id is None else set())
    if body.subscriber is None or body.patient is None:
        copy = (await registry_copies.registered(session, [body.patient_id])).get(body.patient_id)
        values = registry.fill(values, copy, body.first_date_of_service, patient=values.get("patient"))
    if values.get("payer_id") is None:
        raise invalid(
            FieldError(
                field="body.payer_id",
                rule="missing",
                message="No payer given, and no coverage on file is in force on the date of service.",
            )
        )
    try:
        return ClaimData.model_validate(values)
    except ValidationError:
        message = "The coverage on file cannot be billed as it is; send payer_id and subscriber."
        raise invalid(
            FieldError(field="body.subscriber", rule="registry_coverage", message=message)
        ) from None


async def create(session: AsyncSession, data: ClaimData, actor: str, **links: Any) -> Claim:
    """A new draft claim, its providers completed from the registry, and its first history row."""
    claim = domain.new_claim(await with_providers(session, data), actor, **links)
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
    domain.replace_data(claim, await with_providers(session, merged))
    set_status(session, claim, "draft", actor, "edited: " + ", ".join(sorted(changes)))
