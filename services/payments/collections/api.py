"""HTTP for collections: the agency's export, and disputes on an account (which pause its
dunning and recall it from the agency)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from services.payments.accounts.schemas import AccountIdPath
from services.payments.collections import usecases
from services.payments.collections.domain import export_csv
from services.payments.collections.schemas import DisputeIn, DisputeOut, ResolveIn
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import Dates, PageQuery, page_query

router = APIRouter(tags=["collections"])

ExportCollections = Annotated[
    AuditTrail, audited("collections_export", "read", require_scopes("payments:admin"))
]
ExportPage = Annotated[PageQuery, Depends(page_query(500, 1000))]
OpenDispute = Annotated[AuditTrail, audited("account_dispute", "create", require_scopes("payments:write"))]
ResolveDispute = Annotated[AuditTrail, audited("account_dispute", "update", require_scopes("payments:write"))]
ReadDisputes = Annotated[AuditTrail, audited("account_dispute", "read", require_scopes("payments:read"))]


@router.get(
    "/v1/collections/export",
    summary="Accounts referred to collections and recalled, for the agency (CSV, or JSON)",
    description="Requires `payments:admin`. Referrals made in the range (`date_from`/`date_to`, by referral "
    "date) with the debtor (the guarantor's name, address and phone), the patient's name, dates of service, "
    "the insurer billed, itemized charges and payments and the last payment date; and the accounts recalled "
    "in the range. CSV sections (referrals, recalls, items) separated by a blank line, or with "
    "`Accept: application/json` one document. Each account read is audited. Paged: a page covers "
    "`limit` referrals (500 by default, at most 1000), oldest referral first, with the recalls among "
    "them; the next page's cursor is `next_cursor` (JSON) or the `X-Next-Cursor` header (CSV), absent "
    "on the last page.",
    response_class=PlainTextResponse,
)
async def export_collections(
    session: SessionDep,
    trail: ExportCollections,
    dates: Dates,
    page: ExportPage,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    async with session.begin():
        document = await usecases.export(session, dates, page)
    trail.saw_in(document, "account_id")  # one entry naming every account exported
    if accept and "application/json" in accept:
        return JSONResponse(document)
    cursor = document["next_cursor"]
    headers = {"X-Next-Cursor": cursor} if cursor else None
    return PlainTextResponse(export_csv(document), media_type="text/csv", headers=headers)


@router.post(
    "/v1/accounts/{account_id}/disputes",
    status_code=status.HTTP_201_CREATED,
    response_model=DisputeOut,
    summary="Record that the patient disputes the balance (pauses dunning; recalls from collections)",
)
async def open_dispute(
    account_id: AccountIdPath, body: DisputeIn, session: SessionDep, trail: OpenDispute
) -> DisputeOut:
    trail.patient_id = account_id
    async with session.begin():
        dispute = await usecases.open_dispute(session, account_id, body.reason, trail.actor)
        trail.resource_id = str(dispute.id)
        return DisputeOut.model_validate(dispute)


@router.get(
    "/v1/accounts/{account_id}/disputes", response_model=list[DisputeOut], summary="The account's disputes"
)
async def list_disputes(
    account_id: AccountIdPath, session: SessionDep, trail: ReadDisputes
) -> list[DisputeOut]:
    trail.patient_id = trail.resource_id = account_id
    return [DisputeOut.model_validate(d) for d in await usecases.disputes(session, account_id)]


@router.post(
    "/v1/accounts/{account_id}/disputes/{dispute_id}/resolve",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Close a dispute; dunning resumes at the next cycle",
)
async def resolve_dispute(
    account_id: AccountIdPath,
    dispute_id: uuid.UUID,
    body: ResolveIn,
    session: SessionDep,
    trail: ResolveDispute,
) -> Response:
    trail.patient_id, trail.resource_id = account_id, str(dispute_id)
    async with session.begin():
        await usecases.resolve_dispute(session, account_id, dispute_id, body.resolution, trail.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
