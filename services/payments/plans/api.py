"""HTTP for payment plans: create and read a plan, run the account cycle for a date."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse

from services.payments.dunning import usecases as cycle
from services.payments.dunning.schemas import CycleResult
from services.payments.plans import usecases
from services.payments.plans.schemas import PlanIn, PlanOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, audited_create

router = APIRouter(tags=["payment plans"])

CreatePlan = Annotated[AuditTrail, audited("payment_plan", "create", require_scopes("payments:write"))]
ReadPlan = Annotated[AuditTrail, audited("payment_plan", "read", require_scopes("payments:read"))]
RunCycle = Annotated[AuditTrail, audited("payment_plan_cycle", "run", require_scopes("payments:admin"))]


async def get_current_plan(plan_id: uuid.UUID, session: SessionDep, trail: ReadPlan) -> PlanOut:
    """The plan in the path (404 otherwise), with the audit trail told whose it is."""
    trail.resource_id = str(plan_id)
    plan = await usecases.load_plan(session, plan_id)
    trail.patient_id = plan.account_id
    return plan


CurrentPlan = Annotated[PlanOut, Depends(get_current_plan)]


@router.post(
    "/v1/payment-plans",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    summary="Put a patient balance on a payment plan (one active plan per account)",
    description="Requires `payments:write`. An optional `Idempotency-Key` makes a retry return the first "
    "answer instead of a 409 for the plan it created.",
)
async def create_plan(
    body: PlanIn, session: SessionDep, trail: CreatePlan, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    trail.patient_id = body.account_id

    async def write() -> PlanOut:
        return await usecases.load_plan(session, await usecases.create_plan(session, body))

    return await audited_create(
        session,
        trail,
        scope="payment-plan",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        required=False,
    )


@router.get("/v1/payment-plans/{plan_id}", response_model=PlanOut, summary="A plan and its installments")
async def get_plan(plan: CurrentPlan) -> PlanOut:
    return plan


@router.post(
    "/v1/payment-plans/run-cycle",
    response_model=CycleResult,
    summary="Run the account cycle for a date (operations; the worker runs it for today)",
    description="Requires `payments:admin`. Installment reminders and late notices, plans that broke the "
    "policy (final notice), and one dunning step per account whose time has come (the next statement, the "
    "final notice, the referral to collections); each account told anything gets one "
    "`account_notice.issued` with its parts in order.",
)
async def run_cycle_now(
    session: SessionDep,
    _: RunCycle,
    as_of: Annotated[date | None, Query(description="The date to act as (default today).")] = None,
) -> CycleResult:
    async with session.begin():
        return await cycle.run_cycle(session, as_of or date.today())
