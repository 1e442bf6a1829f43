"""HTTP for payment plans: create, read, change and cancel a plan, run the account cycle for a
date."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.payments.dunning import usecases as cycle
from services.payments.dunning.schemas import CycleResult
from services.payments.plans import usecases
from services.payments.plans.schemas import PlanCancelIn, PlanChangeIn, PlanIn, PlanOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, audited_create, idempotent_write
from shared.problems import Problem

router = APIRouter(tags=["payment plans"])

CreatePlan = Annotated[AuditTrail, audited("payment_plan", "create", require_scopes("payments:write"))]
ChangePlan = Annotated[AuditTrail, audited("payment_plan", "update", require_scopes("payments:write"))]
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
    description="Requires `payments:write`. The amount is at most what the patient owes now (422 "
    "`within_patient_due`; a plan on nothing is refused too). An optional `Idempotency-Key` makes a retry "
    "return the first answer instead of a 409 for the plan it created.",
)
async def create_plan(
    body: PlanIn, session: SessionDep, trail: CreatePlan, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    trail.patient_id = body.account_id

    async def write() -> PlanOut:
        return await usecases.load_plan(session, await usecases.create_plan(session, body, trail.actor))

    return await audited_create(
        session,
        trail,
        scope="payment-plan",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        write=write,
        required=False,
    )


@router.get(
    "/v1/payment-plans/{plan_id}", response_model=PlanOut, summary="A plan, its installments and its history"
)
async def get_plan(plan: CurrentPlan) -> PlanOut:
    return plan


async def _amend(
    session: SessionDep,
    trail: AuditTrail,
    plan_id: uuid.UUID,
    body: BaseModel,
    key: str | None,
    amend: Callable[[], Awaitable[None]],
) -> JSONResponse:
    """A change or cancellation: audited on the plan's account, once per optional Idempotency-Key,
    answered with the plan as it now stands."""
    trail.resource_id = str(plan_id)

    async def write() -> PlanOut:
        await amend()
        plan = await usecases.load_plan(session, plan_id)
        trail.patient_id = plan.account_id
        return plan

    outcome = await idempotent_write(
        session,
        scope=f"payment-plan-change:{plan_id}",
        actor=trail.actor,
        key=key,
        request=body.model_dump(mode="json"),
        write=write,
        status_code=status.HTTP_200_OK,
        required=False,
    )
    return outcome.response()


@router.post(
    "/v1/payment-plans/{plan_id}/changes",
    response_model=PlanOut,
    summary="Change an active plan's total, installments, frequency or day (the old version is kept)",
    description="Requires `payments:write`. What was paid stays paid; the rest of the new total (at most "
    "what the patient owes now: 422 `within_patient_due`; more than what was paid: `at_least_paid`) is "
    "split into `installments` from the first unpaid installment's date, `first_due_date`, or `day` of "
    "the month. 409 unless the plan is active. An optional `Idempotency-Key` makes a retry answer the same.",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def change_plan(
    plan_id: uuid.UUID,
    body: PlanChangeIn,
    session: SessionDep,
    trail: ChangePlan,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    amend = partial(usecases.change_plan, session, plan_id, body, trail.actor)
    return await _amend(session, trail, plan_id, body, idempotency_key, amend)


@router.post(
    "/v1/payment-plans/{plan_id}/cancel",
    response_model=PlanOut,
    summary="Cancel an active plan (its history is kept; the account may get a new plan)",
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def cancel_plan(
    plan_id: uuid.UUID,
    session: SessionDep,
    trail: ChangePlan,
    body: PlanCancelIn | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    body = body or PlanCancelIn()
    amend = partial(usecases.cancel_plan, session, plan_id, body, trail.actor)
    return await _amend(session, trail, plan_id, body, idempotency_key, amend)


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
    trail: RunCycle,
    as_of: Annotated[date | None, Query(description="The date to act as (default today).")] = None,
) -> CycleResult:
    async with session.begin():
        result = await cycle.run_cycle(session, as_of or date.today())
    trail.saw(result.accounts)  # every account the cycle told something
    return result
