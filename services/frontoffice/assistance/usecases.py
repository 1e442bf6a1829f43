"""Loading guideline years and policy versions, and screening households against them.

The routes and any future importer call these; a screening is computed once, here, and
stored with everything that explains it (so a later policy or guideline load never changes
what a patient was told)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.frontoffice.assistance import domain, store
from services.frontoffice.assistance.schemas import (
    GuidelinesIn,
    PolicyIn,
    ScreeningIn,
    ScreeningOut,
    ScreeningWhy,
)
from services.frontoffice.assistance.tables import AssistancePolicy, PovertyGuidelines, Screening
from shared.paging import DateRange, PageQuery
from shared.problems import FieldError, ProblemError, invalid


async def load_guidelines(
    session: AsyncSession, body: GuidelinesIn, actor: str
) -> tuple[PovertyGuidelines, bool]:
    """Keep a year as a version: (row, created). Loading the same year with the same figures
    again is a no-op; different figures for a loaded year are refused (409), because
    screenings already explain themselves with the figures they used."""
    regions = body.model_dump(mode="json")["regions"]
    if problems := domain.region_problems(regions):
        raise invalid(*problems)
    existing = await store.guidelines_of_year(session, body.year)
    if existing is not None:
        same = (existing.regions, existing.effective_date, existing.source) == (
            regions,
            body.effective_date,
            body.source,
        )
        if same:
            return existing, False
        raise ProblemError(
            409,
            "guidelines-year-loaded",
            "This year's guidelines are already loaded with other figures",
            "A loaded year is never edited; screenings cite it.",
        )
    row = PovertyGuidelines(
        id=uuid.uuid4(),
        year=body.year,
        effective_date=body.effective_date,
        source=body.source,
        regions=regions,
        loaded_by=actor,
        loaded_at=datetime.now(UTC),
    )
    await store.add(session, row)
    return row, True


async def guidelines_page(
    session: AsyncSession, dates: DateRange, page: PageQuery
) -> tuple[Sequence[Any], str | None]:
    """The years loaded within `dates`, newest load first."""
    return await store.guidelines_page(session, dates, page)


async def set_policy(session: AsyncSession, body: PolicyIn, actor: str) -> tuple[AssistancePolicy, bool]:
    """(version, created): a new policy version, the previous ones staying in force for their
    own dates. Setting again what the latest version for that effective date already says (a
    retry) returns that version instead of adding one, as loading a guideline year again does:
    a version history full of identical retries would misstate when the tiers changed."""
    tiers = [t.model_dump(mode="json") for t in body.tiers]
    if problems := domain.tier_problems(tiers):
        raise invalid(*problems)
    latest = await store.latest_policy_for(session, body.effective_date)
    if latest is not None and latest.tiers == tiers:
        return latest, False
    row = AssistancePolicy(
        id=uuid.uuid4(),
        effective_date=body.effective_date,
        tiers=tiers,
        note=body.note,
        set_by=actor,
        set_at=datetime.now(UTC),
    )
    await store.add(session, row)
    return row, True


async def policy_in_force(session: AsyncSession, on: date) -> AssistancePolicy | None:
    """The policy version in force on a date, or None."""
    return await store.policy_in_force(session, on)


def _not_in_force(what: str, field: str) -> ProblemError:
    return ProblemError(
        409,
        f"no-{what}-in-force",
        f"No {what} is in force on the screening date",
        f"Load the {what} that applies, then screen again.",
        errors=[FieldError(field=field, rule="in_force", message=f"No {what} covers this date.")],
    )


async def screen(session: AsyncSession, body: ScreeningIn, actor: str) -> Screening:
    """Measure a household against the guideline year and policy in force on its date."""
    guidelines = await store.guidelines_in_force(session, body.screening_date)
    if guidelines is None:
        raise _not_in_force("guidelines", "body.screening_date")
    policy = await store.policy_in_force(session, body.screening_date)
    if policy is None:
        raise _not_in_force("policy", "body.screening_date")
    region = domain.region_of(body.state)
    if region not in guidelines.regions:
        region = domain.CONTIGUOUS  # a year loaded without the AK/HI columns
    guideline = domain.guideline_for(guidelines.regions, region, body.household_size)
    percent = domain.poverty_percent(body.annual_income, guideline)
    if percent > domain.MAX_PERCENT:
        raise invalid(("body.annual_income", "range", "Income is beyond any screening's range."))
    choice = domain.choose_tier(policy.tiers, percent)
    row = Screening(
        id=uuid.uuid4(),
        patient_id=body.patient_id,
        household_size=body.household_size,
        annual_income=body.annual_income,
        region=region,
        screening_date=body.screening_date,
        guidelines_id=guidelines.id,
        guidelines_year=guidelines.year,
        guideline_amount=guideline,
        poverty_percent=percent,
        policy_id=policy.id,
        tier=choice.tier,
        discount_percent=choice.discount_percent,
        tier_above_percent=choice.above,
        tier_up_to_percent=choice.up_to,
        screened_by=actor,
        screened_at=datetime.now(UTC),
    )
    await store.add(session, row)
    return row


async def get_screening(session: AsyncSession, screening_id: uuid.UUID) -> Screening | None:
    """One screening, or None."""
    return await store.get_screening(session, screening_id)


async def screening_out(session: AsyncSession, row: Screening) -> ScreeningOut:
    """A screening with its explanation (the policy's effective date is read back)."""
    policy = await store.get_policy(session, row.policy_id)
    assert policy is not None  # a foreign key
    choice = domain.TierChoice(row.tier, row.discount_percent, row.tier_above_percent, row.tier_up_to_percent)
    why = ScreeningWhy(
        guidelines_year=row.guidelines_year,
        region=row.region,  # type: ignore[arg-type]
        household_size=row.household_size,
        guideline_amount=row.guideline_amount,
        policy_id=row.policy_id,
        policy_effective_date=policy.effective_date,
        tier_above_percent=row.tier_above_percent,
        tier_up_to_percent=row.tier_up_to_percent,
        explanation=domain.explain(
            income=row.annual_income,
            household_size=row.household_size,
            percent=row.poverty_percent,
            guideline=row.guideline_amount,
            year=row.guidelines_year,
            region=row.region,
            choice=choice,
            policy_effective=policy.effective_date.isoformat(),
        ),
    )
    return ScreeningOut(
        id=row.id,
        patient_id=row.patient_id,
        household_size=row.household_size,
        annual_income=row.annual_income,
        state_region=row.region,  # type: ignore[arg-type]
        screening_date=row.screening_date,
        poverty_percent=row.poverty_percent,
        tier=row.tier,
        discount_percent=row.discount_percent,
        why=why,
        screened_by=row.screened_by,
        screened_at=row.screened_at,
    )
