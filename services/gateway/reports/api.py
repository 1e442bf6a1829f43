"""Report routes: what went through the mailboxes (the demo and the benchmark read it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from services.gateway.reports import store
from services.gateway.reports.schemas import MailboxReport
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(prefix="/v1/reports", tags=["reports"])

ReadMailboxReport = Annotated[AuditTrail, audited("report", "mailbox", require_scopes("gateway:read"))]


@router.get("/mailbox", response_model=MailboxReport, summary="Files up and down, claims by state")
async def mailbox(session: SessionDep, _: ReadMailboxReport) -> MailboxReport:
    """Submission files by partner, kind (837, 276) and state; received files by partner, kind
    and state; outbound claims by partner, state (queued, filed, ignored) and acknowledgment."""
    return MailboxReport.model_validate(await store.counts(session))
