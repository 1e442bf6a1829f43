"""HTTP for the money limits: read them, and (a payments admin) change them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from services.payments.limits import usecases
from services.payments.limits.schemas import LimitsIn, LimitsOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import Problem

router = APIRouter(prefix="/v1/money-limits", tags=["money limits"])
ReadLimits = Annotated[AuditTrail, audited("money_limits", "read", require_scopes("payments:read"))]
ChangeLimits = Annotated[AuditTrail, audited("money_limits", "update", require_scopes("payments:admin"))]


@router.get(
    "",
    response_model=LimitsOut,
    summary="The practice's money limits in force",
    description="The largest patient payment, insurer payment or bank deposit, refund and write-off or "
    "adjustment payments accepts, and the threshold over which a write-off or adjustment waits for a "
    "second person. An amount over its maximum is a 422 naming the field and the rule "
    "(`max_patient_payment`, `max_insurer_payment`, `max_refund`, `max_write_off`).",
)
async def get_limits(session: SessionDep, _: ReadLimits) -> LimitsOut:
    return usecases.out(await usecases.current(session))


@router.put(
    "",
    response_model=LimitsOut,
    summary="Change the practice's money limits (payments:admin, audited)",
    description="Replaces every limit at once, as a new version (the old ones are kept). In force for "
    "every request from now on; pending approvals are not re-decided. Audited as `money_limits` "
    "`update` with the version as the resource id.",
    responses={403: {"model": Problem, "description": "Needs `payments:admin`."}},
)
async def put_limits(body: LimitsIn, session: SessionDep, trail: ChangeLimits) -> LimitsOut:
    changed = await usecases.change(session, body, trail.actor)
    trail.resource_id = str(changed.version)
    return changed
