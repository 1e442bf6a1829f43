"""All of the assistance sub-domain's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.assistance.tables import AssistancePolicy, PovertyGuidelines, Screening
from shared.paging import DateRange, PageQuery, paginate


async def add(session: AsyncSession, row: Any) -> None:
    """A new guideline year, policy version or screening, in the caller's transaction."""
    session.add(row)
    await session.flush()


async def guidelines_of_year(session: AsyncSession, year: int) -> PovertyGuidelines | None:
    """The guidelines loaded for a year, if any."""
    stmt = select(PovertyGuidelines).where(PovertyGuidelines.year == year)  # type: ignore[arg-type]
    return (await session.execute(stmt)).scalar_one_or_none()


async def guidelines_in_force(session: AsyncSession, on: date) -> PovertyGuidelines | None:
    """The latest year whose effective date is on or before `on`."""
    stmt = (
        select(PovertyGuidelines)
        .where(PovertyGuidelines.effective_date <= on)  # type: ignore[arg-type]
        .order_by(PovertyGuidelines.effective_date.desc(), PovertyGuidelines.year.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def guidelines_page(
    session: AsyncSession, dates: DateRange, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """Years loaded within `dates`, newest load first."""
    stmt = dates.apply(select(PovertyGuidelines), PovertyGuidelines.loaded_at)
    return await paginate(session, stmt, page, PovertyGuidelines.loaded_at, PovertyGuidelines.id)


async def latest_policy_for(session: AsyncSession, effective: date) -> AssistancePolicy | None:
    """The latest version set for an effective date. Takes a transaction-scoped advisory lock
    first, so two concurrent retries of one policy do not both find none and both add one."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext("assistance_policy"))))
    stmt = (
        select(AssistancePolicy)
        .where(AssistancePolicy.effective_date == effective)  # type: ignore[arg-type]
        .order_by(AssistancePolicy.set_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def policy_in_force(session: AsyncSession, on: date) -> AssistancePolicy | None:
    """The policy version in force on a date: latest effective date, then latest set."""
    stmt = (
        select(AssistancePolicy)
        .where(AssistancePolicy.effective_date <= on)  # type: ignore[arg-type]
        .order_by(AssistancePolicy.effective_date.desc(), AssistancePolicy.set_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_policy(session: AsyncSession, policy_id: uuid.UUID) -> AssistancePolicy | None:
    """One policy version."""
    return await session.get(AssistancePolicy, policy_id)


async def get_screening(session: AsyncSession, screening_id: uuid.UUID) -> Screening | None:
    """One screening."""
    return await session.get(Screening, screening_id)
