"""The financial assistance discount, without I/O: how much, and the ledger rows it writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from services.payments.accounts.domain import CENT, ZERO, Entry, credit_entries


def discount(balance: Decimal, percent: Decimal) -> Decimal:
    """The policy's discount of what the patient owes: percent of the balance, to the cent, half up
    (the way a person rounds a bill: 0.005 goes to the patient). Nothing owed, nothing off."""
    if balance <= ZERO:
        return ZERO
    return (balance * percent / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


def assistance_entries(
    account_id: str,
    amount: Decimal,
    owing: Sequence[tuple[uuid.UUID, Decimal]],
    application_id: uuid.UUID,
    tier: str,
) -> list[Entry]:
    """The adjustment rows: the discount spread over what the patient owes per item, oldest
    first (as any credit), each naming the application. `amount` never exceeds what is owed,
    so no row is a refund due."""
    description = f"Financial assistance ({tier})"
    return [
        replace(e, application_id=application_id)
        for e in credit_entries(account_id, amount, owing, description)
    ]
