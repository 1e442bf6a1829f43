"""HTTP for accounts: the derived view, the ledger, manual charges and adjustments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, status
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
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, idempotent_write

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

ReadAccount = Annotated[AuditTrail, audited("account", "read", require_scopes("payments:read"))]
ReadLedger = Annotated[AuditTrail, audited("account_ledger", "read", require_scopes("payments:read"))]
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
    write: Callable[[], Awaitable[Written]],
) -> JSONResponse:
    """A manual ledger entry: audited on its account, written once per Idempotency-Key."""
    trail.patient_id = trail.resource_id = account_id
    outcome = await idempotent_write(
        session,
        scope=f"{kind}:{account_id}",
        actor=trail.actor,
        key=key,
        request=body.model_dump(mode="json"),
        write=write,
    )
    return outcome.response()


@router.get("/{account_id}", response_model=AccountOut, summary="An account's balances and aging")
async def get_account(
    account_id: AccountIdPath,
    session: SessionDep,
    trail: ReadAccount,
    as_of: Annotated[date | None, Query(description="Aging date (default today).")] = None,
) -> AccountOut:
    trail.resource_id = trail.patient_id = account_id
    return await usecases.account_summary(session, account_id, as_of or date.today())


@router.get("/{account_id}/ledger", response_model=Ledger, summary="An account's ledger and derived balance")
async def get_ledger(account_id: AccountIdPath, session: SessionDep, trail: ReadLedger) -> Ledger:
    trail.resource_id = trail.patient_id = account_id
    return await usecases.ledger(session, account_id)


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
    summary="Adjust a patient balance (Idempotency-Key required)",
)
async def add_adjustment(
    account_id: AccountIdPath,
    body: AdjustmentIn,
    session: SessionDep,
    trail: CreateAdjustment,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    write = partial(usecases.add_adjustment, session, account_id, body)
    return await _write_once(session, trail, "adjustment", account_id, body, idempotency_key, write)
