"""HTTP for forward balances: the list (per payer, open or recovered, with what recovered
them) and the totals per payer. The PLB adjustments themselves are shown on their
remittance and on the account of the claim they name."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from services.payments.provider_adjustments import usecases
from services.payments.provider_adjustments.schemas import ForwardBalanceOut, ForwardBalanceReport
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query

router = APIRouter(tags=["remittances"])
ListForwardBalances = Annotated[
    AuditTrail, audited("forward_balance", "list", require_scopes("payments:read"))
]
ReadForwardBalanceReport = Annotated[
    AuditTrail, audited("forward_balance_report", "read", require_scopes("payments:read"))
]
ForwardBalancePage = Annotated[PageQuery, Depends(page_query(100, 1000))]
PayerFilter = Annotated[str | None, Query(max_length=64)]


@router.get(
    "/v1/forward-balances",
    response_model=CursorPage[ForwardBalanceOut],
    summary="Forward balances (835 PLB FB) per payer, newest opened first",
    description="Each: the reference, the claim it names, the amount opened and still open, the "
    "remittance that opened it and those that recovered it. `date_from`/`date_to` filter by opening.",
)
async def list_forward_balances(
    session: SessionDep,
    trail: ListForwardBalances,
    page: ForwardBalancePage,
    dates: Dates,
    payer_id: PayerFilter = None,
    status: Literal["open", "recovered"] | None = None,
) -> CursorPage[ForwardBalanceOut]:
    items, cursor = await usecases.list_forward_balances(
        session, page, dates, payer_id=payer_id, status=status
    )
    trail.saw_in(items, "account_id")  # the audit names every patient account listed
    return CursorPage[ForwardBalanceOut](items=items, next_cursor=cursor)


@router.get(
    "/v1/reports/forward-balances",
    response_model=ForwardBalanceReport,
    summary="Forward balances per payer: open count and amount, recovered count",
)
async def forward_balance_totals(
    session: SessionDep, _: ReadForwardBalanceReport, dates: Dates, payer_id: PayerFilter = None
) -> ForwardBalanceReport:
    return await usecases.totals(session, dates, payer_id)
