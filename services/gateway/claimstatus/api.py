"""Asking a payer where a claim stands now (a 276 in real time), and a claim's inquiries."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request

from services.gateway.claimstatus import store, usecases
from services.gateway.claimstatus.schemas import InquiryOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(prefix="/v1/claim-status", tags=["claim-status"])

AskTrail = Annotated[AuditTrail, audited("claim_status", "ask", require_scopes("gateway:write"))]
ReadTrail = Annotated[AuditTrail, audited("claim_status", "list", require_scopes("gateway:read"))]


@router.post("/{claim_id}", response_model=InquiryOut, summary="Ask the payer about the claim now (276/277)")
async def ask(claim_id: uuid.UUID, request: Request, trail: AskTrail) -> InquiryOut:
    app = request.app
    row = await usecases.ask_now(app.state.db, usecases.sender_of(app), claim_id, "api")
    return InquiryOut.model_validate(row._mapping)


@router.get(
    "/{claim_id}", response_model=list[InquiryOut], summary="The claim's status inquiries, newest first"
)
async def inquiries(claim_id: uuid.UUID, session: SessionDep, trail: ReadTrail) -> list[InquiryOut]:
    return [InquiryOut.model_validate(r._mapping) for r in await store.inquiries_of(session, claim_id)]
