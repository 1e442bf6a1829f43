"""All of the acknowledgments' SQL: finding what an acknowledgment answers (our submission
files by ICN or group control number, our claims by set or patient control number) and
recording the answer on them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, true, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.outbound.tables import outbound_claims as oc, submission_files as sf


def _number(column: Any, value: str) -> Any:
    """Control numbers compare as numbers: `000000123`, `123` and `0123` are one ICN/GCN/ST02
    (partners pad them their own way)."""
    return func.ltrim(column, "0") == value.lstrip("0")


def _of_partner(partner_id: str | None) -> Any:
    return sf.c.partner_id == partner_id if partner_id else true()


async def files_by_icn(session: AsyncSession, partner_id: str | None, icn: str) -> Sequence[Any]:
    """Our submission files with this ISA13 (of this partner when known)."""
    stmt = select(sf).where(_of_partner(partner_id), _number(sf.c.interchange_control_number, icn))
    return (await session.execute(stmt.with_for_update())).all()


async def files_by_gcn(session: AsyncSession, partner_id: str | None, gcn: str) -> Sequence[Any]:
    """Our submission files with this GS06 (of this partner when known)."""
    stmt = select(sf).where(_of_partner(partner_id), _number(sf.c.group_control_number, gcn))
    return (await session.execute(stmt.with_for_update())).all()


async def claims_of_file(session: AsyncSession, file_id: uuid.UUID) -> Sequence[Any]:
    """Every claim filed in a submission file, in set order."""
    stmt = select(oc).where(oc.c.file_id == file_id).order_by(oc.c.set_control_number)
    return (await session.execute(stmt)).all()


async def latest_claim(session: AsyncSession, pcn: str, partner_id: str | None) -> Any:
    """The claim a 277CA answers: the latest filed claim with this patient control number,
    this partner's first (a corrected claim reuses its PCN; the newest filing is answered)."""
    stmt = (
        select(oc)
        .where(oc.c.patient_control_number == pcn, oc.c.state == "filed")
        .order_by((oc.c.partner_id == partner_id).desc().nulls_last(), oc.c.submitted_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).first()


async def claim_by_payer_number(session: AsyncSession, pccn: str) -> Any:
    """Fallback match: the claim a payer numbered before (an earlier 277CA's REF*1K)."""
    stmt = (
        select(oc)
        .where(oc.c.payer_claim_control_number == pccn, oc.c.state == "filed")
        .order_by(oc.c.submitted_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).first()


async def mark_claims(
    session: AsyncSession,
    event_ids: Sequence[uuid.UUID],
    *,
    ack_state: str | None,
    source: str,
    payer_claim_control_number: str | None = None,
) -> None:
    """Record an answer on outbound claims (a rejection is never undone by a later acceptance
    of the same filing: the rejected claim must be corrected and resubmitted as a new one)."""
    if not event_ids:
        return
    values: dict[str, Any] = {"ack_source": source}
    if ack_state:
        values["ack_state"] = ack_state
    if payer_claim_control_number:
        values["payer_claim_control_number"] = payer_claim_control_number
    stmt = update(oc).where(oc.c.event_id.in_(list(event_ids)))
    if ack_state == "accepted":
        stmt = stmt.where(oc.c.ack_state != "rejected")
    await session.execute(stmt.values(values))


async def mark_file(session: AsyncSession, file_id: uuid.UUID, at: datetime, **values: Any) -> None:
    """Record a TA1 (`ta1_code`, `ta1_note`) or 999 (`ack_code`) on a submission file, and its
    state: `rejected` when the interchange or group was, else `acknowledged`."""
    await session.execute(update(sf).where(sf.c.id == file_id).values(acknowledged_at=at, **values))
