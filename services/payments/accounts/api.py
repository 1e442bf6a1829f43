"""HTTP for accounts: the derived view, the ledger, manual charges and adjustments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.payments.accounts import usecases
from services.payments.accounts.schemas import (
    AccountIdPath,
    AccountOut,
    AdjustmentIn,
    ChargeIn,
    Ledger,
    Written,
)
from services.payments.approvals.schemas import ApprovalOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, idempotent_write
from shared.paging import PageQuery, page_query
from shared.problems import Problem

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

ReadAccount = Annotated[AuditTrail, audited("account", "read", require_scopes("payments:read"))]
ReadLedger = Annotated[AuditTrail, audited("account_ledger", "read", require_scopes("payments:read"))]
LedgerPage = Annotated[PageQuery, Depends(page_query(200, 1000))]
CreateCharge = Annotated[AuditTrail, audited("account_charge", "create", require_scopes("payments:write"))]
CreateAdjustment = Annotated[
    AuditTrail, audited("account_adjustment", "create", require_scopes("payments:write"))
]


async def _write_once(
    session: SessionDep,
    trail: AuditTrail,
    kind: str,
    account_id: str,
    body: BaseModel,
    key: str | None,
    write: Callable[[], Awaitable[BaseModel]],
    status_code: int = status.HTTP_201_CREATED,
) -> JSONResponse:
    """A manual ledger entry: audited on its account, written once per Idempotency-Key; a 202
    (waiting for approval) points at its approval."""
    trail.patient_id = trail.resource_id = account_id
    outcome = await idempotent_write(
        session,
        scope=f"{kind}:{account_id}",
        actor=trail.actor,
        key=key,
        request=body.model_dump(mode="json"),
        write=write,
        status_code=status_code,
    )
    if outcome.status_code == status.HTTP_202_ACCEPTED:
        return outcome.response(headers={"Location": f"/v1/approvals/{outcome.body['id']}"})
    return outcome.response()


@router.get("/{account_id}", response_model=AccountOut, summary="An account's balances and aging")
async def get_account(
    account_id: AccountIdPath,
    session: SessionDep,
    trail: ReadAccount,
    as_of: Annotated[date | None, Query(description="Aging date (default today).")] = None,
) -> AccountOut:
    trail.resource_id = trail.patient_id = account_id
    return await usecases.account_view(session, account_id, as_of or date.today())


@router.get(
    "/{account_id}/ledger",
    response_model=Ledger,
    summary="An account's ledger (paged, in the order written) and derived balance",
    description="`limit` entries a page (200 by default, at most 1000); pass `next_cursor` as `cursor` "
    "for the next. `balance` is always the whole ledger's sum.",
)
async def get_ledger(
    account_id: AccountIdPath, session: SessionDep, trail: ReadLedger, page: LedgerPage
) -> Ledger:
    trail.resource_id = trail.patient_id = account_id
    return await usecases.ledger(session, account_id, page)


@router.post(
    "/{account_id}/charges",
    status_code=status.HTTP_201_CREATED,
    response_model=Written,
    summary="Add a patient charge (Idempotency-Key required)",
)
async def add_charge(
    account_id: AccountIdPath,
    body: ChargeIn,
    session: SessionDep,
    trail: CreateCharge,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    write = partial(usecases.add_charge, session, account_id, body)
    return await _write_once(session, trail, "charge", account_id, body, idempotency_key, write)


@router.post(
    "/{account_id}/adjustments",
    status_code=status.HTTP_201_CREATED,
    response_model=Written,
    summary="Adjust a patient balance (Idempotency-Key required; large ones need a second person)",
    description="Over the practice's maximum write-off (`GET /v1/money-limits`, `write_off`) either "
    "direction is a 422 naming `body.amount` and the rule `max_write_off`, and nothing is written or "
    "asked. A credit takes at most what the patient owes on the named item (else on the open "
    "items, oldest first): more is a 422 `within_balance` unless `refund_due` records the rest as a "
    "refund due. A debit without an item is a new item dated today. Over the practice's "
    "`approval_threshold` (default `PAYMENTS_ADJUSTMENT_APPROVAL_THRESHOLD`, 100.00) the answer is "
    "**202** with `Location: /v1/approvals/{id}`: nothing is written until someone else with "
    "`payments:approve` or `payments:admin` approves it (checked against the balance again then). "
    "An account payments does not know is a 404.",
    responses={
        202: {"model": ApprovalOut, "description": "Waiting for a second person's approval."},
        404: {"model": Problem, "description": "No such account."},
    },
)
async def add_adjustment(
    account_id: AccountIdPath,
    body: AdjustmentIn,
    session: SessionDep,
    trail: CreateAdjustment,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    bounds = await usecases.adjustment_limits(session)
    write = partial(usecases.adjust, session, account_id, body, trail.actor, bounds)
    code = status.HTTP_202_ACCEPTED if bounds.needs_approval(body.amount) else status.HTTP_201_CREATED
    return await _write_once(session, trail, "adjustment", account_id, body, idempotency_key, write, code)
