"""HTTP for financing: refer a balance to a partner, read a referral, the partner's export."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from services.frontoffice.financing import usecases
from services.frontoffice.financing.domain import export_csv
from services.frontoffice.financing.schemas import ReferralIn, ReferralOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, audited_create
from shared.paging import Dates, PageQuery, page_query
from shared.problems import Problem, ProblemError

router = APIRouter(prefix="/v1/financing", tags=["financing"])
Refer = Annotated[AuditTrail, audited("financing_referral", "create", require_scopes("assistance:write"))]
ReadReferral = Annotated[AuditTrail, audited("financing_referral", "read", require_scopes("assistance:read"))]
Export = Annotated[AuditTrail, audited("financing_export", "read", require_scopes("assistance:read"))]
ExportPage = Annotated[PageQuery, Depends(page_query(500, 1000))]


@router.post(
    "/referrals",
    response_model=ReferralOut,
    status_code=status.HTTP_201_CREATED,
    summary="Refer a balance to a financing partner (`assistance:write`, `Idempotency-Key`)",
    description="Publishes `financing.referred` (to payments and the partner) in the same transaction.",
    responses={400: {"model": Problem}, 422: {"model": Problem}},
)
async def refer(
    body: ReferralIn, session: SessionDep, trail: Refer, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    trail.patient_id = body.patient_id

    async def write() -> ReferralOut:
        return ReferralOut.model_validate(
            await usecases.refer(session, body, trail.actor), from_attributes=True
        )

    return await audited_create(
        session,
        trail,
        scope="financing_referral",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        location="/v1/financing/referrals/{id}",
    )


@router.get(
    "/referrals/{referral_id}",
    response_model=ReferralOut,
    summary="One referral",
    responses={404: {"model": Problem}},
)
async def get_referral(referral_id: uuid.UUID, session: SessionDep, trail: ReadReferral) -> ReferralOut:
    trail.resource_id = str(referral_id)
    row = await usecases.get(session, referral_id)
    if row is None:
        raise ProblemError(404, "not-found", "Referral not found")
    trail.patient_id = row.patient_id
    return ReferralOut.model_validate(row, from_attributes=True)


@router.get(
    "/export",
    summary="The financing partner's export: referrals in a date range (CSV)",
    description="Referrals made from `date_from` to `date_to` (inclusive, by referral date), oldest first: "
    "referral id, account, patient id, partner, amount, when and by whom, then the patient's name, phone, "
    "email and postal address from the patient registry, so the partner can offer the credit the patient "
    "asked for (the minimum necessary: no birth date, no coverage, no clinical data; empty for a patient "
    "not in the registry). Paged by `limit` (500, at most "
    "1000); the next page's cursor is in the `X-Next-Cursor` header, absent on the last page. Every "
    "patient exported is named in one audit entry.",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export(
    session: SessionDep,
    trail: Export,
    dates: Dates,
    page: ExportPage,
    partner_id: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")] = None,
) -> Response:
    rows, contacts, cursor = await usecases.export(session, dates, page, partner_id=partner_id)
    referrals = [ReferralOut.model_validate(r, from_attributes=True) for r in rows]
    trail.saw(r.patient_id for r in referrals)
    headers = {"X-Next-Cursor": cursor} if cursor else None
    return PlainTextResponse(export_csv(referrals, contacts), media_type="text/csv", headers=headers)
