"""Carrying out the front office's financial assistance and financing decisions on the account.
The caller owns the transaction."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.account_holds import usecases as holds
from services.payments.accounts import store as ledger
from services.payments.accounts.domain import ZERO
from services.payments.accounts.usecases import account_summary
from services.payments.assistance import domain, store
from shared.consumer import PermanentError
from shared.events.catalogue import FinancialAssistanceApproved, FinancingReferred

log = logging.getLogger(__name__)

# A financing referral's own hold id: derived from the referral, so a redelivery is the same hold.
_FINANCING_HOLDS = uuid.UUID("6f1c3c1e-5b0e-4d7e-9a59-19f1a2c0f019")


async def apply_assistance(session: AsyncSession, approved: FinancialAssistanceApproved) -> Decimal | None:
    """Post an approved application's discount once: discount_percent of what the patient owes
    now (the patient balance, net of unapplied credit), as adjustment rows naming the
    application, spread over the open items oldest first. Nothing owed: the application is
    recorded with 0.00 and no ledger row (a later redelivery still posts nothing). The amount
    written, or None for an application posted already.

    The front office's two-person decision (decided_by, approved_by) is the second-person
    approval payments asks of a large manual write-off: the same rule (someone other than who
    decided), applied where the decision is made and audited there; payments computes the
    amount from the approved percentage and the ledger, so there is no typed amount for a
    second payments user to check, and the discount never exceeds what is owed. An event whose
    two people are one is refused (dead-lettered) rather than posted."""
    if approved.decided_by == approved.approved_by:
        raise PermanentError("financial_assistance.approved needs two people: approved_by is decided_by")
    await ledger.lock_account(session, approved.account_id)  # the balance read is the one adjusted
    now = datetime.now(UTC)  # one moment: the balance is read as of the day it is posted
    base = max((await account_summary(session, approved.account_id, now.date())).patient_due, ZERO)
    amount = domain.discount(base, approved.discount_percent)
    recorded = await store.add_adjustment(
        session,
        application_id=approved.application_id,
        account_id=approved.account_id,
        tier=approved.tier,
        discount_percent=approved.discount_percent,
        poverty_percent=approved.poverty_percent,
        guidelines_year=approved.guidelines_year,
        base=base,
        amount=amount,
        decided_by=approved.decided_by,
        approved_by=approved.approved_by,
        decided_at=approved.decided_at,
        posted_at=now,
    )
    if not recorded:
        log.info(
            "financial assistance posted already", extra={"application_id": str(approved.application_id)}
        )
        return None
    if amount > ZERO:
        owing = [
            (i.item_id, i.patient_due)
            for i in await ledger.open_items(session, approved.account_id)
            if i.patient_due > 0
        ]
        entries = domain.assistance_entries(
            approved.account_id, amount, owing, approved.application_id, approved.tier
        )
        await ledger.append(session, entries)
    return amount


async def record_financing(session: AsyncSession, referred: FinancingReferred) -> bool:
    """The account records the financed amount and the partner, and leaves the collections path
    while financed: a financing hold (statements go on; the final notice and the referral
    wait) until the front office releases it. Once per referral."""
    recorded = await store.add_financing(
        session,
        referral_id=referred.referral_id,
        account_id=referred.account_id,
        partner_id=referred.partner_id,
        amount=referred.amount,
        referred_by=referred.referred_by,
        referred_at=referred.referred_at,
        received_at=datetime.now(UTC),
    )
    if recorded:
        await holds.place(
            session,
            hold_id=uuid.uuid5(_FINANCING_HOLDS, str(referred.referral_id)),
            account_id=referred.account_id,
            reason="financing",
            source_id=referred.referral_id,
            holds_statements=False,
            holds_collections=True,
            placed_at=referred.referred_at,
        )
    return recorded
