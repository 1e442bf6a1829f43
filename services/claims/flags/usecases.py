"""Raising, listing and resolving claim flags, and the member id a corrected claim carries.

Flags are raised in the transaction that keeps the coverage.updated copy (the consumer's inbox
row commits with them, so a redelivered event raises nothing twice). Sending a corrected claim
resolves the member id flags of the claim it replaces: one command, whether staff send it from
the claim (POST /v1/claims/{id}/corrections) or from the flag (outcome `corrected`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims import domain as claims_domain, store as claims_store
from services.claims.claims.tables import Claim
from services.claims.flags import domain, store
from services.claims.flags.schemas import FlagFilters, FlagOut
from services.claims.flags.tables import ClaimFlag
from services.claims.registry import domain as registry, store as registry_store
from shared.events.frontoffice import CoverageUpdated
from shared.paging import CursorPage, DateRange, PageQuery
from shared.problems import ProblemError, invalid

MEMBER_ID = "member_id_corrected"


async def flag_affected_claims(session: AsyncSession, update: CoverageUpdated) -> int:
    """Flag the patient's open claims each change affects; how many flags were raised."""
    payers = sorted({c.payer_id for c in update.changes if c.kind in ("member_id_corrected", "terminated")})
    if not payers:
        return 0
    found = await claims_store.unsettled_claims(session, update.patient_id, payers, domain.SETTLED)
    claims = [domain.OpenClaim(r.id, r.payer_id, r.status, r.date_of_service, r.member_id) for r in found]
    now = claims_domain.now()
    rows = [
        row
        for change in update.changes
        for row in domain.flags_for(
            change, claims, update.coverages, patient_id=update.patient_id, revision=update.revision, now=now
        )
    ]
    await store.add_flags(session, rows)
    return len(rows)


async def get_flag(session: AsyncSession, flag_id: uuid.UUID, *, lock: bool = False) -> ClaimFlag:
    """The flag, or a 404 problem."""
    flag = await store.get_flag(session, flag_id, lock=lock)
    if flag is None:
        raise ProblemError(404, "not-found", "Flag not found", "No claim flag has this id.")
    return flag


async def list_flags(
    session: AsyncSession,
    page: PageQuery,
    *,
    claim_id: uuid.UUID | None = None,
    filters: FlagFilters | None = None,
    dates: DateRange | None = None,
) -> CursorPage[FlagOut]:
    """One page of flags, newest first: a claim's, or the work list's."""
    f = filters or FlagFilters()
    rows, cursor = await store.list_page(
        session, page, claim_id=claim_id, status=f.status, kind=f.kind, payer_id=f.payer_id, dates=dates
    )
    return CursorPage[FlagOut](
        items=[FlagOut.model_validate(r, from_attributes=True) for r in rows], next_cursor=cursor
    )


def _refuse_closed(flag: ClaimFlag) -> None:
    if flag.status != "open":
        raise ProblemError(409, "flag-closed", "The flag is no longer open", f"It was {flag.status}.")


async def resolve(session: AsyncSession, flag: ClaimFlag, outcome: str, note: str, actor: str) -> ClaimFlag:
    """Staff resolve (the work is done) or dismiss (nothing to do) an open flag, with a note."""
    _refuse_closed(flag)
    flag.status, flag.note, flag.resolved_by, flag.resolved_at = outcome, note, actor, claims_domain.now()
    session.add(flag)
    return flag


def check_correctable(flag: ClaimFlag) -> None:
    """A flag resolved by sending a corrected claim must be an open member id flag (422 otherwise)."""
    _refuse_closed(flag)
    if flag.kind != MEMBER_ID:
        raise invalid(
            (
                "body.outcome",
                "not_a_member_id_flag",
                "Only a member_id_corrected flag is resolved by a correction.",
            )
        )


async def corrected_member_id(session: AsyncSession, claim: Claim) -> dict[str, Any]:
    """The changes a corrected claim (frequency 7) takes from the registry copy: with an open
    member id flag on the claim, its subscriber with the member id (and group) on file now for
    the claim's payer and date of service; nothing otherwise (the claim's content as billed)."""
    if await store.open_of(session, claim.id, MEMBER_ID) is None:
        return {}
    copies = await registry_store.copies(session, [claim.patient_id])
    on_file = registry.member_id_on_file(
        registry.parse(copies.get(claim.patient_id)),
        claim.payer_id,
        claim.coverage_order,
        claim.date_of_service,
    )
    subscriber = (claim.data or {}).get("subscriber")
    if on_file is None or subscriber is None:
        return {}
    member_id, group_number = on_file
    return {"subscriber": {**subscriber, "member_id": member_id, "group_number": group_number}}


async def resolve_by_correction(
    session: AsyncSession, claim_id: uuid.UUID, replacement_pcn: str, actor: str, note: str | None = None
) -> int:
    """A corrected claim went out: the replaced claim's open member id flags are resolved."""
    text = f"corrected claim {replacement_pcn} sent" + (f": {note}" if note else "")
    return await store.close_open(session, claim_id, MEMBER_ID, "resolved", text, actor, claims_domain.now())
