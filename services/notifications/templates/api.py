"""Template routes: list the templates with their versions, and preview any version. Templates
hold no patient data, so these need a scope but no audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from services.notifications.settings import notification_settings
from services.notifications.templates import usecases
from services.notifications.templates.schemas import PreviewOut, TemplateOut
from shared.auth import Principal, require_scopes

router = APIRouter(prefix="/v1/templates", tags=["templates"])

ReadTemplates = Annotated[Principal, require_scopes("notifications:read")]


async def get_current_template(name: Annotated[str, Path(pattern=r"^[a-z_]{1,64}$")]) -> str:
    """The template's name, or 404."""
    return usecases.known_template(name)


CurrentTemplate = Annotated[str, Depends(get_current_template)]


@router.get("", response_model=list[TemplateOut], summary="Every template and its versions")
async def list_templates(_: ReadTemplates) -> list[TemplateOut]:
    return usecases.catalogue()


@router.get(
    "/{name}/preview", response_model=PreviewOut, summary="Render a template version with sample data"
)
async def preview(
    request: Request,
    _: ReadTemplates,
    name: CurrentTemplate,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> PreviewOut:
    return usecases.preview(name, version, notification_settings(request.app))
