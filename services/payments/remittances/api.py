"""HTTP for remittances: read one's summary or (separately scoped) the raw file it came in,
list what was posted. Uploads are the intake's front door (`receipts`), payers `holds`'."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from services.payments.remittances import usecases
from services.payments.remittances.schemas import (
    RemittanceId,
    RemittanceRef,
    RemittanceSummary,
)
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import ProblemError

router = APIRouter(tags=["remittances"])
ReadRemittance = Annotated[AuditTrail, audited("remittance", "read", require_scopes("payments:read"))]
ReadRemittanceFile = Annotated[
    AuditTrail, audited("remittance_file", "read", require_scopes("remittances:raw"))
]
ListRemittances = Annotated[AuditTrail, audited("remittance", "list", require_scopes("payments:read"))]
RemittancePage = Annotated[PageQuery, Depends(page_query(100, 1000))]


def _not_found() -> ProblemError:
    return ProblemError(404, "not-found", "Remittance not found")


async def get_current_remittance(
    remittance_id: RemittanceId, session: SessionDep, trail: ReadRemittance
) -> RemittanceSummary:
    """The remittance of the path, or 404 (audited as a read of that id either way)."""
    trail.resource_id = str(remittance_id)
    summary = await usecases.summary(session, remittance_id)
    if summary is None:
        raise _not_found()
    trail.saw_in(summary, "account_id")  # one remittance pays claims of many patients
    return summary


CurrentRemittance = Annotated[RemittanceSummary, Depends(get_current_remittance)]


@router.get(
    "/v1/remittances/{remittance_id}", response_model=RemittanceSummary, summary="A remittance's posting"
)
async def get_remittance(remittance: CurrentRemittance) -> RemittanceSummary:
    return remittance


@router.get(
    "/v1/remittances/{remittance_id}/x12",
    response_class=PlainTextResponse,
    summary="The raw 835 as received (PHI: needs `remittances:raw`; every read is audited)",
)
async def get_remittance_file(
    remittance_id: RemittanceId, session: SessionDep, trail: ReadRemittanceFile
) -> PlainTextResponse:
    trail.resource_id = str(remittance_id)
    x12 = await usecases.raw_file(session, remittance_id)
    if x12 is None:
        raise _not_found()
    trail.saw_in(await usecases.summary(session, remittance_id), "account_id")  # the 835 names them all
    return PlainTextResponse(x12, media_type="application/edi-x12")


@router.get(
    "/v1/remittances",
    response_model=CursorPage[RemittanceRef],
    summary="Remittances received, newest first",
)
async def list_remittances(
    session: SessionDep,
    _: ListRemittances,
    page: RemittancePage,
    dates: Dates,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    trace_number: Annotated[str | None, Query(max_length=50)] = None,
) -> CursorPage[RemittanceRef]:
    rows, cursor = await usecases.list_remittances(
        session, page, dates, payer_id=payer_id, trace_number=trace_number
    )
    items = [RemittanceRef.model_validate(r, from_attributes=True) for r in rows]
    return CursorPage[RemittanceRef](items=items, next_cursor=cursor)
