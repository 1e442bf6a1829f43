"""Reading the limits in force, holding an amount to its maximum, and changing the limits.

Every path that moves an amount of a limited kind calls `require_within` (or reads `current`
once and checks each amount), inside its own transaction, before it writes anything: the
problem it raises rolls the whole request back."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.limits import store
from services.payments.limits.domain import Limits, over_maximum
from services.payments.limits.schemas import LimitsIn, LimitsOut
from services.payments.limits.tables import MoneyLimitVersion
from services.payments.settings import payments_settings


def defaults() -> Limits:
    """The limits before any change: PAYMENTS_MAX_* and PAYMENTS_ADJUSTMENT_APPROVAL_THRESHOLD."""
    s = payments_settings()
    return Limits(
        patient_payment=s.max_patient_payment,
        insurer_payment=s.max_insurer_payment,
        refund=s.max_refund,
        write_off=s.max_write_off,
        approval_threshold=s.adjustment_approval_threshold,
    )


async def current(session: AsyncSession) -> Limits:
    """The limits in force (read in the caller's transaction)."""
    row = await store.latest(session)
    return defaults() if row is None else Limits.of(row)


async def require_within(
    session: AsyncSession, kind: str, amount: Decimal, field: str, limits: Limits | None = None
) -> Limits:
    """422 naming `field` and the rule `max_<kind>` when `amount` is over its maximum; the
    limits read, for a caller with more to decide (the approval threshold)."""
    limits = limits or await current(session)
    if limits.over(kind, amount):
        raise over_maximum(limits, kind, field)
    return limits


async def change(session: AsyncSession, body: LimitsIn, actor: str) -> LimitsOut:
    """A new version of the limits, in its own transaction: in force from its commit."""
    async with session.begin():
        row = await store.insert(
            session, MoneyLimitVersion(**body.model_dump(), changed_by=actor, changed_at=datetime.now(UTC))
        )
        return out(Limits.of(row))


def out(limits: Limits) -> LimitsOut:
    return LimitsOut(**asdict(limits))
