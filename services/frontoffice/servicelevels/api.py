"""Service levels API: the target of each ticket category and who a breach escalates to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request

from services.frontoffice.servicelevels import domain
from services.frontoffice.servicelevels.schemas import ServiceLevelOut
from services.frontoffice.servicelevels.usecases import contact_for
from services.frontoffice.settings import frontoffice_settings
from shared.auth import require_scopes

router = APIRouter(prefix="/v1/service-levels", tags=["tickets"])

Reader = Annotated[Any, require_scopes("tickets:read")]


@router.get("", response_model=list[ServiceLevelOut], summary="The service level of each ticket category")
async def list_service_levels(request: Request, _: Reader) -> list[ServiceLevelOut]:
    settings = frontoffice_settings(request.app)
    return [
        ServiceLevelOut(
            category=category,  # type: ignore[arg-type]
            days=target.days,
            business_days=target.business_days,
            escalation_contact=contact_for(settings, category, 1),
            senior_escalation_contact=contact_for(settings, category, domain.MAX_LEVEL),
        )
        for category, target in domain.TARGETS.items()
    ]
