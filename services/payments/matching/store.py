"""The SQL of matching by hand that is its own: the audit entries an approved override writes
in its transaction (a route's audit dependency writes them for a match made at once)."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from shared import context
from shared.tables import AuditRow


def audit_match(
    session: AsyncSession, actor: str, unmatched_id: uuid.UUID, claim_id: uuid.UUID, patient_id: str
) -> None:
    """Two entries, one per id: the parked claim and the claim it was posted to."""
    ctx = context.peek()
    for resource_type, resource_id in (("unmatched_claim", unmatched_id), ("claim", claim_id)):
        session.add(
            AuditRow(
                actor=actor,
                action="match_override",
                resource_type=resource_type,
                resource_id=str(resource_id),
                patient_id=patient_id,
                outcome="success",
                status_code=200,
                correlation_id=ctx.correlation_id if ctx else None,
            )
        )
