"""The registry's use cases: register, replace, change, remove and read providers; and the
registry as claims read it (by NPI, a batch's NPIs in one statement).

Plain functions over a session; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.providers import domain, store
from services.claims.providers.schemas import ProviderFilters, ProviderOut, ProviderPatch, ProviderRecord
from services.claims.providers.tables import Provider
from shared.paging import CursorPage, PageQuery, paginate
from shared.problems import ProblemError, invalid


def _checked(record: ProviderRecord) -> dict[str, Any]:
    """The record's columns, or a 422 naming each rule it breaks for its roles."""
    if errors := domain.record_errors(record):
        raise invalid(*errors, detail=f"{len(errors)} field(s) broke a rule; see `errors`.")
    content = record.model_dump(mode="json")
    content["roles"] = list(dict.fromkeys(record.roles))
    return content


async def get_provider(session: AsyncSession, npi: str, *, lock: bool = False) -> Provider:
    """The provider, or a 404 problem."""
    provider = await store.get(session, npi, lock=lock)
    if provider is None:
        raise ProblemError(404, "not-found", "Provider not found", "No provider with this NPI is registered.")
    return provider


async def describe(session: AsyncSession, npi: str) -> ProviderOut:
    return ProviderOut.model_validate(await get_provider(session, npi), from_attributes=True)


async def list_providers(
    session: AsyncSession, filters: ProviderFilters, page: PageQuery
) -> CursorPage[ProviderOut]:
    """One page of providers, newest first."""
    rows, cursor = await paginate(
        session, store.list_statement(filters), page, Provider.created_at, Provider.id
    )
    items = [ProviderOut.model_validate(p, from_attributes=True) for p in rows]
    return CursorPage[ProviderOut](items=items, next_cursor=cursor)


async def register(session: AsyncSession, record: ProviderRecord, actor: str) -> None:
    """A new provider; 409 when its NPI is registered already (PUT replaces)."""
    if not await store.insert_new(session, _checked(record), actor, datetime.now(UTC)):
        raise ProblemError(
            409,
            "already-registered",
            "The NPI is registered already",
            "Change it with PUT or PATCH /v1/providers/{npi}.",
        )


async def put(session: AsyncSession, npi: str, record: ProviderRecord, actor: str) -> bool:
    """Register or replace the provider of this NPI; True when it is new."""
    if record.npi != npi:
        raise invalid(("body.npi", "npi_mismatch", "The body's NPI must be the one in the path."))
    return await store.upsert(session, _checked(record), actor, datetime.now(UTC))


async def change(session: AsyncSession, provider: Provider, patch: ProviderPatch, actor: str) -> None:
    """Apply what the patch sends; the result must still be usable in its roles (422)."""
    current = ProviderRecord.model_validate(provider, from_attributes=True).model_dump(mode="json")
    try:
        merged = ProviderRecord.model_validate(
            {**current, **patch.model_dump(mode="json", exclude_unset=True)}
        )
    except ValidationError as exc:  # the merged record breaks a rule the patch alone could not show
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    for name, value in _checked(merged).items():
        setattr(provider, name, value)
    provider.updated_by, provider.updated_at = actor, datetime.now(UTC)
    session.add(provider)


async def remove(session: AsyncSession, npi: str) -> None:
    """Take the NPI off the registry (404 when it is not on it)."""
    if not await store.remove(session, npi):
        raise ProblemError(404, "not-found", "Provider not found", "No provider with this NPI is registered.")


async def registry(session: AsyncSession, npis: Collection[str]) -> dict[str, dict[str, Any]]:
    """What claims take from the registry for these NPIs (the registered ones), by NPI."""
    return {p.npi: domain.claim_fields(p) for p in await store.by_npis(session, set(npis))}
