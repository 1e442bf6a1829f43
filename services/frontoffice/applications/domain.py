"""Pure rules of an application: who may decide and approve when, and the events it causes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from services.frontoffice.applications.tables import Application
from services.frontoffice.holds import domain as holds
from shared.events.frontoffice import AccountHoldPlaced, AccountHoldReleased, FinancialAssistanceApproved
from shared.problems import FieldError, ProblemError

FINAL = frozenset({"approved", "denied"})


def conflict(slug: str, title: str, field: str, rule: str, message: str) -> ProblemError:
    """A 409 naming the rule (the application is not in a state for this)."""
    return ProblemError(409, slug, title, errors=[FieldError(field=field, rule=rule, message=message)])


def check_open(app: Application) -> None:
    """Documents and decisions are taken while the application is open."""
    if app.status != "open":
        raise conflict(
            "application-not-open",
            "The application is not open",
            "status",
            "open",
            f"It is {app.status}; a decided one is approved or sent back first.",
        )


def check_approvable(app: Application, actor: str) -> None:
    """Only a decided application is approved, and never by the person who decided it."""
    if app.status != "decided":
        raise conflict(
            "application-not-decided",
            "There is no decision to approve",
            "status",
            "decided",
            f"It is {app.status}.",
        )
    if app.decided_by == actor:
        raise ProblemError(
            403,
            "same-person",
            "A second person must approve this decision",
            errors=[FieldError(field="actor", rule="four_eyes", message="The decider cannot approve.")],
        )


def decided_tier(
    tiers: list[dict[str, Any]], screened_tier: str, wanted: str | None, note: str | None
) -> tuple[str, Decimal]:
    """The tier and discount an approval gives: the screening's, or another tier of the same
    policy with a note saying why (an override is allowed, never silent)."""
    tier = wanted or screened_tier
    if tier != screened_tier and not note:
        raise conflict(
            "tier-override-needs-note",
            "Another tier than the screening's needs a note",
            "body.note",
            "override_reason",
            "Say why the tier differs from the screening's.",
        )
    for row in tiers:
        if row["tier"] == tier:
            return tier, Decimal(str(row["discount_percent"]))
    if tier == "none":
        return tier, Decimal("0.00")
    raise ProblemError(
        422,
        "validation-error",
        "The request is not valid",
        errors=[
            FieldError(field="body.tier", rule="policy_tier", message="Use a tier of the screening's policy.")
        ],
    )


def hold_placed(app: Application, when: datetime) -> AccountHoldPlaced:
    """An open application keeps the account from collections (statements continue)."""
    return holds.placed(
        "financial_assistance",
        hold_id=app.hold_id,
        account_id=app.account_id,
        patient_id=app.patient_id,
        source_id=app.id,
        at=when,
    )


def hold_released(app: Application, when: datetime) -> AccountHoldReleased:
    """The final outcome ends the hold."""
    return holds.released(
        "financial_assistance",
        hold_id=app.hold_id,
        account_id=app.account_id,
        source_id=app.id,
        outcome=app.status,
        at=when,
    )


def approved(app: Application, poverty_percent: Decimal, guidelines_year: int) -> FinancialAssistanceApproved:
    """What payments posts: the discount, with the two people who made it."""
    assert app.tier and app.discount_percent is not None and app.decided_by and app.approved_by
    assert app.decided_at is not None
    return FinancialAssistanceApproved(
        application_id=app.id,
        account_id=app.account_id,
        patient_id=app.patient_id,
        tier=app.tier,
        discount_percent=app.discount_percent,
        poverty_percent=poverty_percent,
        guidelines_year=guidelines_year,
        decided_by=app.decided_by,
        approved_by=app.approved_by,
        decided_at=app.decided_at,
    )
