"""HTTP for the reconciliation: the report (totals and a first page of each section), its four
paged sections (matched, discrepancies and the two worklists), and matching a deposit by hand
(or undoing a match), each with a reason and audited."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.payments.reconciliation import usecases
from services.payments.reconciliation.domain import required
from services.payments.reconciliation.schemas import (
    MatchedDeposit,
    MatchIn,
    MatchOut,
    Reconciliation,
    UnmatchedDeposit,
    UnmatchedRemittance,
    UnmatchIn,
)
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import Problem

router = APIRouter(tags=["reconciliation"])

ReadReconciliation = Annotated[AuditTrail, audited("reconciliation", "read", require_scopes("payments:read"))]
MatchDeposit = Annotated[AuditTrail, audited("deposit_match", "match", require_scopes("payments:write"))]
UnmatchDeposit = Annotated[AuditTrail, audited("deposit_match", "unmatch", require_scopes("payments:write"))]
WorklistPage = Annotated[PageQuery, Depends(page_query(50, 500))]
FirstPages = Annotated[int, Query(ge=1, le=500, description="Items in each section's first page.")]
AsOf = Annotated[date | None, Query(description="The day the ages are counted to (default: today, UTC).")]
RANGE_DOC = (
    "`date_from` and `date_to` (inclusive, both required) select deposits by bank date (the BAI2 "
    "group's as-of date, or the CSV's date) and 835s by paid date (BPR16, else the day received). "
)


def _as_of(value: date | None) -> date:
    return value or datetime.now(UTC).date()


@router.get(
    "/v1/reports/reconciliation",
    response_model=Reconciliation,
    summary="Bank deposits against the 835s for a range of dates: matched, discrepancies, unmatched (aged)",
    description=RANGE_DOC
    + "EFTs match 835s by the CORE reassociation trace (the ACH addenda's TRN02 = the 835's TRN02) and "
    "amount (BPR02), checks by check number (TRN02 of a BPR04=CHK 835), card deposits by settlement "
    "batch. A reference match with another amount is a discrepancy. The totals count everything in the "
    "range; each section shows its first page (`limit`, 50 by default); page on with the section's route.",
)
async def reconciliation(
    session: SessionDep, _: ReadReconciliation, dates: Dates, as_of: AsOf = None, limit: FirstPages = 50
) -> Reconciliation:
    date_from, date_to = required(dates)
    return await usecases.reconcile(session, date_from, date_to, _as_of(as_of), limit)


@router.get(
    "/v1/reports/reconciliation/matched",
    response_model=CursorPage[MatchedDeposit],
    summary="The range's deposits matched to their 835 or card batch (in the order imported)",
    description=RANGE_DOC,
)
async def matched(
    session: SessionDep, _: ReadReconciliation, dates: Dates, page: WorklistPage
) -> CursorPage[MatchedDeposit]:
    date_from, date_to = required(dates)
    return await usecases.matches(session, date_from, date_to, "matched", page)


@router.get(
    "/v1/reports/reconciliation/discrepancies",
    response_model=CursorPage[MatchedDeposit],
    summary="The range's deposits matched by reference whose amount differs (in the order imported)",
    description=RANGE_DOC,
)
async def discrepancies(
    session: SessionDep, _: ReadReconciliation, dates: Dates, page: WorklistPage
) -> CursorPage[MatchedDeposit]:
    date_from, date_to = required(dates)
    return await usecases.matches(session, date_from, date_to, "discrepancies", page)


@router.get(
    "/v1/reports/reconciliation/unmatched-deposits",
    response_model=CursorPage[UnmatchedDeposit],
    summary="Deposits matched to no 835 or card batch, aged from the bank date (oldest import first)",
    description=RANGE_DOC,
)
async def unmatched_deposits(
    session: SessionDep, _: ReadReconciliation, dates: Dates, page: WorklistPage, as_of: AsOf = None
) -> CursorPage[UnmatchedDeposit]:
    date_from, date_to = required(dates)
    return await usecases.unmatched_deposits(session, date_from, date_to, _as_of(as_of), page)


@router.get(
    "/v1/reports/reconciliation/unmatched-remittances",
    response_model=CursorPage[UnmatchedRemittance],
    summary="835s paying money that no deposit was matched to, aged from BPR16 (oldest received first)",
    description=RANGE_DOC,
)
async def unmatched_remittances(
    session: SessionDep, _: ReadReconciliation, dates: Dates, page: WorklistPage, as_of: AsOf = None
) -> CursorPage[UnmatchedRemittance]:
    date_from, date_to = required(dates)
    return await usecases.unmatched_remittances(session, date_from, date_to, _as_of(as_of), page)


@router.post(
    "/v1/bank-deposits/{deposit_id}/match",
    status_code=201,
    response_model=MatchOut,
    summary="Match a deposit to an 835 or a card batch by hand, with a reason",
    description="For what the rules cannot match (an EFT whose addenda lost its TRN, a deposit of several "
    "checks). The amounts must agree, or the match is a discrepancy, unless `accept_difference` is set "
    "and the reason says why. 409 when the deposit or the target is matched already. Audited.",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def match_deposit(
    deposit_id: uuid.UUID, body: MatchIn, session: SessionDep, trail: MatchDeposit
) -> MatchOut:
    trail.resource_id = str(deposit_id)
    return await usecases.match_by_hand(session, deposit_id, body, trail.actor)


@router.post(
    "/v1/bank-deposits/{deposit_id}/unmatch",
    response_model=MatchOut,
    summary="Undo a deposit's match, with a reason (the match is kept, ended; not re-matched automatically)",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def unmatch_deposit(
    deposit_id: uuid.UUID, body: UnmatchIn, session: SessionDep, trail: UnmatchDeposit
) -> MatchOut:
    trail.resource_id = str(deposit_id)
    return await usecases.unmatch_by_hand(session, deposit_id, body, trail.actor)
