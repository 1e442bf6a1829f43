"""Partner routes: the configured clearinghouses and their mailbox state (no secrets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from services.gateway.mailbox import store as mailbox_store
from services.gateway.partners.schemas import PartnerView
from services.gateway.partners.usecases import partners, view
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(prefix="/v1/partners", tags=["partners"])

ReadPartners = Annotated[AuditTrail, audited("partner", "read", require_scopes("gateway:read"))]


@router.get("", response_model=list[PartnerView], summary="Trading partners and their mailbox state")
async def list_partners(request: Request, session: SessionDep, _: ReadPartners) -> list[PartnerView]:
    """Each partner's configuration without its secret (only whether it logs in with a
    password or a key), and its last poll, last error kind and last upload."""
    states = await mailbox_store.states(session)
    return [PartnerView.model_validate(view(p, states.get(p.id))) for p in partners(request.app)]
