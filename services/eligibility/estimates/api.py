"""Estimate route: what the patient will likely owe, with the arithmetic line by line: from a
completed check's benefits, or from the self-pay fee schedule."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.eligibility.estimates import usecases
from services.eligibility.estimates.schemas import EstimateIn
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(prefix="/v1/estimates", tags=["estimates"])

CreateEstimate = Annotated[AuditTrail, audited("estimate", "create", require_scopes("eligibility:read"))]
DefaultSchedule = Annotated[dict[str, Any], Depends(usecases.default_schedule)]


@router.post("", summary="Estimate what the patient will owe, with the arithmetic line by line")
async def create_estimate(
    body: EstimateIn, session: SessionDep, trail: CreateEstimate, schedule: DefaultSchedule
) -> dict[str, Any]:
    if body.self_pay:
        trail.patient_id = body.patient_id
        return await usecases.self_pay_estimate(session, schedule, body)
    check = await usecases.verified_check(session, body.check_id)
    trail.patient_id, trail.resource_id = check.patient_id, str(check.id)
    usecases.require_active(check)
    return await usecases.estimate(session, schedule, check, body)
