"""HTTP for dunning: an account's recorded steps, where it stands and what comes next."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from services.payments.accounts.schemas import AccountIdPath
from services.payments.dunning import usecases
from services.payments.dunning.schemas import DunningOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(tags=["collections"])

ReadDunning = Annotated[AuditTrail, audited("account_dunning", "read", require_scopes("payments:read"))]


@router.get(
    "/v1/accounts/{account_id}/dunning",
    response_model=DunningOut,
    summary="The account's dunning history: every step (statement, final notice, referral) and the next",
)
async def get_dunning(account_id: AccountIdPath, session: SessionDep, trail: ReadDunning) -> DunningOut:
    trail.patient_id = trail.resource_id = account_id
    return await usecases.dunning_history(session, account_id)
