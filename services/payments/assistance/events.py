"""`financial_assistance.approved` and `financing.referred` from the front office: thin handlers."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.assistance import usecases
from shared.events import Event
from shared.events.catalogue import FinancialAssistanceApproved, FinancingReferred


async def on_assistance_approved(session: AsyncSession, event: Event) -> None:
    approved = event.data
    assert isinstance(approved, FinancialAssistanceApproved)
    await usecases.apply_assistance(session, approved)


async def on_financing_referred(session: AsyncSession, event: Event) -> None:
    referred = event.data
    assert isinstance(referred, FinancingReferred)
    await usecases.record_financing(session, referred)
