"""Templates over the API: list them with their versions, and preview any version.

A preview renders the template with its sample event through the same context builder the
handlers use, so what you see is what a recipient would get (plus the PHI scan's verdict
on the email and SMS text).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from services.notifications.phi import find_phi
from services.notifications.samples import SAMPLE_EVENTS, sample_context
from services.notifications.settings import notification_settings
from services.notifications.templating import UnknownTemplate, render, versions
from shared.auth import require_scopes
from shared.problems import ProblemError, invalid


class TemplateOut(BaseModel):
    name: str
    versions: list[int]
    latest: int
    sample_event_type: str


class PreviewOut(BaseModel):
    template: str
    version: int
    sample_event_type: str
    subject: str
    email: str
    sms: str
    inbox: str
    phi_findings: list[str]


router = APIRouter(prefix="/v1/templates", tags=["templates"])


@router.get("", response_model=list[TemplateOut], summary="Every template and its versions")
async def list_templates(_: Annotated[Any, require_scopes("notifications:read")]) -> list[TemplateOut]:
    return [
        TemplateOut(name=n, versions=v, latest=v[-1], sample_event_type=SAMPLE_EVENTS[n][0])
        for n, v in versions().items()
    ]


@router.get(
    "/{name}/preview", response_model=PreviewOut, summary="Render a template version with sample data"
)
async def preview(
    request: Request,
    name: Annotated[str, Path(pattern=r"^[a-z_]{1,64}$")],
    _: Annotated[Any, require_scopes("notifications:read")],
    version: Annotated[int | None, Query(ge=1)] = None,
) -> PreviewOut:
    if name not in SAMPLE_EVENTS or name not in versions():
        raise ProblemError(404, "not-found", "Not found", "No such template.")
    try:
        rendered = render(name, sample_context(name, notification_settings(request.app)), version)
    except UnknownTemplate as exc:
        raise invalid(("query.version", "unknown_version", "No such version.")) from exc
    return PreviewOut(
        template=name,
        version=rendered.version,
        sample_event_type=SAMPLE_EVENTS[name][0],
        subject=rendered.subject,
        email=rendered.email,
        sms=rendered.sms,
        inbox=rendered.inbox,
        phi_findings=find_phi(f"{rendered.subject}\n{rendered.email}\n{rendered.sms}"),
    )
