"""Provider registry API: the practice's billing and rendering providers, by NPI.

Reads need `claims:read`, writes `claims:write` (the registry is part of billing). Writes are
audited (who changed which NPI, and how it ended); reads are not, as the registry holds no
patient data.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status

from services.claims.providers import usecases
from services.claims.providers.schemas import ProviderFilters, ProviderOut, ProviderPatch, ProviderRecord
from services.claims.providers.tables import Provider
from shared.audit import AuditTrail, audited
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Page
from shared.problems import Problem

router = APIRouter(prefix="/v1/providers", tags=["providers"])

NpiPath = Annotated[str, Path(pattern=r"^\d{10}$", description="The provider's NPI.")]
_update = audited("provider", "update", require_scopes("claims:write"))

Reader = Annotated[Principal, require_scopes("claims:read")]
CreateTrail = Annotated[AuditTrail, audited("provider", "create", require_scopes("claims:write"))]
PutTrail = Annotated[AuditTrail, audited("provider", "update", require_scopes("claims:write"))]
UpdateTrail = Annotated[AuditTrail, _update]
DeleteTrail = Annotated[AuditTrail, audited("provider", "delete", require_scopes("claims:write"))]


def _current_provider(trail: Any) -> Any:
    """Load-or-404 (locked) of the provider a route changes; the audit entry names its NPI."""

    async def get_current_provider(npi: NpiPath, session: SessionDep, audit: AuditTrail = trail) -> Provider:
        audit.resource_id = npi
        return await usecases.get_provider(session, npi, lock=True)

    return Depends(get_current_provider)


ProviderToUpdate = Annotated[Provider, _current_provider(_update)]
# Routes taking a locked row run in the transaction its SELECT ... FOR UPDATE began, and commit it.


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProviderOut,
    summary="Register a provider",
    responses={409: {"model": Problem, "description": "The NPI is registered already."}},
)
async def create_provider(
    body: ProviderRecord, session: SessionDep, response: Response, trail: CreateTrail
) -> ProviderOut:
    trail.resource_id = body.npi
    async with session.begin():
        await usecases.register(session, body, trail.actor)
    response.headers["Location"] = f"/v1/providers/{body.npi}"
    return await usecases.describe(session, body.npi)


@router.put(
    "/{npi}",
    response_model=ProviderOut,
    summary="Register or replace the provider of an NPI (201 when new, 200 when replaced)",
    responses={201: {"model": ProviderOut}},
)
async def put_provider(
    npi: NpiPath, body: ProviderRecord, session: SessionDep, response: Response, trail: PutTrail
) -> ProviderOut:
    trail.resource_id = npi
    async with session.begin():
        created = await usecases.put(session, npi, body, trail.actor)
    if created:
        trail.action = "create"
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/v1/providers/{npi}"
    return await usecases.describe(session, npi)


@router.patch(
    "/{npi}",
    response_model=ProviderOut,
    summary="Change some of a provider's fields",
    responses={404: {"model": Problem}},
)
async def patch_provider(
    provider: ProviderToUpdate, body: ProviderPatch, session: SessionDep, trail: UpdateTrail
) -> ProviderOut:
    await usecases.change(session, provider, body, trail.actor)
    await session.commit()
    return await usecases.describe(session, provider.npi)


@router.delete(
    "/{npi}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Take an NPI off the registry (claims already made keep their copy)",
    responses={404: {"model": Problem}},
)
async def delete_provider(npi: NpiPath, session: SessionDep, trail: DeleteTrail) -> Response:
    trail.resource_id = npi
    async with session.begin():
        await usecases.remove(session, npi)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{npi}", response_model=ProviderOut, summary="One provider", responses={404: {"model": Problem}})
async def get_provider(npi: NpiPath, session: SessionDep, _: Reader) -> ProviderOut:
    return await usecases.describe(session, npi)


@router.get("", response_model=CursorPage[ProviderOut], summary="List providers, newest first")
async def list_providers(
    session: SessionDep, _: Reader, filters: Annotated[ProviderFilters, Depends()], page: Page
) -> CursorPage[ProviderOut]:
    return await usecases.list_providers(session, filters, page)
