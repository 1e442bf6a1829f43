"""Referring a balance to a financing partner, and the partner's export."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.financing import store
from services.frontoffice.financing.schemas import ReferralIn
from services.frontoffice.financing.tables import Referral
from services.frontoffice.patients import usecases as patients
from services.frontoffice.patients.schemas import PatientContact
from shared.events.envelope import new_event
from shared.events.frontoffice import FinancingReferred
from shared.outbox import add_event
from shared.paging import DateRange, PageQuery


async def refer(session: AsyncSession, body: ReferralIn, actor: str) -> Referral:
    """Record the referral and publish `financing.referred` in the same transaction (the
    partner takes it, payments records the financed balance)."""
    row = Referral(
        id=uuid.uuid4(),
        patient_id=body.patient_id,
        account_id=body.account_id or body.patient_id,
        partner_id=body.partner_id,
        amount=body.amount,
        note=body.note,
        referred_by=actor,
        referred_at=datetime.now(UTC),
    )
    await store.add(session, row)
    event = FinancingReferred(
        referral_id=row.id,
        account_id=row.account_id,
        patient_id=row.patient_id,
        partner_id=row.partner_id,
        amount=row.amount,
        referred_by=actor,
        referred_at=row.referred_at,
    )
    add_event(session, new_event(event))
    return row


async def get(session: AsyncSession, referral_id: uuid.UUID) -> Referral | None:
    """One referral, or None."""
    return await store.get(session, referral_id)


async def export(
    session: AsyncSession, dates: DateRange, page: PageQuery, *, partner_id: str | None
) -> tuple[Sequence[Any], dict[str, PatientContact], str | None]:
    """One page of the partner's export, oldest referral first, with the contact details of
    the page's patients from the registry (a patient not registered has none)."""
    rows, cursor = await store.page(session, dates, page, partner_id=partner_id)
    found = await patients.contacts(session, [r.patient_id for r in rows])
    return rows, found, cursor
