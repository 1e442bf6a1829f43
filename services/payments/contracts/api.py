"""HTTP for contracts: load a payer's fee schedule, list the lines paid below it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.payments.contracts import usecases
from services.payments.contracts.domain import InvalidFeeSchedule, parse_fee_schedule
from services.payments.contracts.schemas import FeeScheduleOut, UnderpaymentOut
from services.payments.remittances.schemas import PayerId
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import FieldError, ProblemError

router = APIRouter(tags=["contracts"])
LoadFeeSchedule = Annotated[AuditTrail, audited("fee_schedule", "update", require_scopes("payments:admin"))]
ListUnderpayments = Annotated[AuditTrail, audited("underpayment", "list", require_scopes("payments:read"))]
UnderpaymentPage = Annotated[PageQuery, Depends(page_query(100, 1000))]


def _invalid(error: InvalidFeeSchedule) -> ProblemError:
    return ProblemError(
        422,
        "invalid-fee-schedule",
        "The fee schedule cannot be loaded",
        error.message,
        errors=[FieldError(field=error.field, rule=error.rule, message=error.message)],
    )


@router.put(
    "/v1/fee-schedules/{payer_id}",
    response_model=FeeScheduleOut,
    summary="Load a payer's fee schedule (CSV or JSON); publishes fee_schedule.updated",
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "code,modifier,allowed\n99213,,92.50\n",
                },
                "application/json": {"schema": {"type": "object"}},
            }
        }
    },
)
async def put_fee_schedule(
    payer_id: PayerId,
    request: Request,
    session: SessionDep,
    trail: LoadFeeSchedule,
    effective_date: Annotated[date | None, Query()] = None,
) -> FeeScheduleOut:
    try:
        entries = parse_fee_schedule(await request.body(), request.headers.get("content-type", ""))
    except InvalidFeeSchedule as exc:
        raise _invalid(exc) from None
    effective = effective_date or date.today()
    schedule_id = await usecases.load_fee_schedule(
        session, payer_id, entries, effective=effective, actor=trail.actor
    )
    trail.resource_id = str(schedule_id)
    return FeeScheduleOut(
        fee_schedule_id=schedule_id, payer_id=payer_id, effective_date=effective, entries=len(entries)
    )


@router.get(
    "/v1/underpayments", response_model=CursorPage[UnderpaymentOut], summary="Lines paid below contract"
)
async def list_underpayments(
    session: SessionDep,
    _: ListUnderpayments,
    page: UnderpaymentPage,
    dates: Dates,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    claim_id: uuid.UUID | None = None,
) -> CursorPage[UnderpaymentOut]:
    rows, cursor = await usecases.list_underpayments(
        session, page, dates, payer_id=payer_id, claim_id=claim_id
    )
    items = [UnderpaymentOut.model_validate(r, from_attributes=True) for r in rows]
    return CursorPage[UnderpaymentOut](items=items, next_cursor=cursor)
