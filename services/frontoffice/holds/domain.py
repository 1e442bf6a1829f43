"""The account_hold.* events, built one way for every reason a hold is placed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from shared.events.frontoffice import AccountHoldPlaced, AccountHoldReleased, HoldReason


@dataclass(frozen=True)
class Held:
    """What a hold keeps from the account."""

    statements: bool
    collections: bool


# A disputed bill is neither sent again nor collected while disputed; an open assistance
# application stops collections only (the patient still gets statements, with the discount
# applied once decided).
HELD: dict[HoldReason, Held] = {
    "dispute": Held(statements=True, collections=True),
    "financial_assistance": Held(statements=False, collections=True),
}


def placed(
    reason: HoldReason,
    *,
    hold_id: uuid.UUID,
    account_id: str,
    patient_id: str | None,
    source_id: uuid.UUID,
    at: datetime,
) -> AccountHoldPlaced:
    """account_hold.placed for a hold of `reason` (which says what is held)."""
    held = HELD[reason]
    return AccountHoldPlaced(
        hold_id=hold_id,
        account_id=account_id,
        patient_id=patient_id,
        reason=reason,
        source_id=source_id,
        holds_statements=held.statements,
        holds_collections=held.collections,
        placed_at=at,
    )


def released(
    reason: HoldReason,
    *,
    hold_id: uuid.UUID,
    account_id: str,
    source_id: uuid.UUID,
    outcome: str,
    at: datetime,
) -> AccountHoldReleased:
    """account_hold.released: the hold of `reason` ends with `outcome`."""
    return AccountHoldReleased(
        hold_id=hold_id,
        account_id=account_id,
        reason=reason,
        source_id=source_id,
        outcome=outcome,
        released_at=at,
    )
