"""Denied-balance rules without I/O: how much of a claim's insurance balance is denied and
still open, how much of it the patient may be billed for, and the ledger rows and event that
work it.

A denied amount is what the claim's standing 835 postings (not reversed) adjusted as denials
(shared.receivables.is_denial), less what was worked already (ledger rows marked DENIED), never
more than the claim still has with insurance (a later payment, a retirement by a corrected
claim or a reversal lowers that). Only a PR denial may be billed to the patient (835 CAS01:
CO is the provider's liability, PI and OA are not the patient's either).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.payments.accounts.domain import Entry
from shared import receivables
from shared.events import Event, new_event
from shared.events.catalogue import DenialResolved

ZERO = Decimal("0.00")
WORKED = "DENIED"  # reason_code of the ledger rows that work a denial


@dataclass(frozen=True)
class Denied:
    """One denied CAS total of a standing posting."""

    group_code: str
    reason_code: str
    amount: Decimal


@dataclass
class DeniedItem:
    """A claim item's denied balance, as the ledger and its postings show it."""

    claim_id: uuid.UUID
    account_id: str
    payer_id: str
    service_date: date | None = None
    insurance: Decimal = ZERO  # the item's insurance balance
    worked: Decimal = ZERO  # written off or billed to the patient already
    billed_patient: Decimal = ZERO
    denials: list[Denied] = field(default_factory=list)

    def add_posting(self, adjustments: Iterable[dict[str, Any]]) -> None:
        """The denied adjustments of one standing posting (its JSON totals)."""
        for a in adjustments:
            amount = Decimal(str(a["amount"]))
            if receivables.is_denial(a["group_code"], a["reason_code"], amount):
                self.denials.append(Denied(a["group_code"], a["reason_code"], amount))

    @property
    def open(self) -> Decimal:
        """Denied and not worked yet, within what insurance still has."""
        denied = sum((d.amount for d in self.denials), ZERO)
        return max(ZERO, min(self.insurance, denied - self.worked))

    @property
    def patient_denied(self) -> Decimal:
        """What of the denials the group code lets the practice bill the patient for."""
        groups = receivables.PATIENT_BILLABLE_GROUPS
        return sum((d.amount for d in self.denials if d.group_code in groups), ZERO)

    @property
    def patient_billable(self) -> Decimal:
        return max(ZERO, min(self.open, self.patient_denied - self.billed_patient))


def _marked(item: DeniedItem, **row: Any) -> Entry:
    return Entry(
        account_id=item.account_id,
        item_id=item.claim_id,
        claim_id=item.claim_id,
        reason_code=WORKED,
        service_date=item.service_date,
        **row,
    )


def write_off(item: DeniedItem, amount: Decimal, approval_id: uuid.UUID) -> list[Entry]:
    """The approved write-off of a denied amount: it leaves insurance A/R."""
    what = f"Denial written off (approval {approval_id})"
    return [_marked(item, entry_type="adjustment", amount=-amount, bucket="insurance", description=what)]


def bill_patient(item: DeniedItem, amount: Decimal) -> list[Entry]:
    """A PR denial billed to the patient: from insurance to the patient's bucket."""
    what = "Denied by the payer as the patient's (PR): billed to the patient"
    return [
        _marked(
            item, entry_type="transfer", amount=-amount, bucket="insurance", group_code="PR", description=what
        ),
        _marked(
            item, entry_type="transfer", amount=amount, bucket="patient", group_code="PR", description=what
        ),
    ]


def resolved(
    item: DeniedItem, resolution: str, amount: Decimal, when: datetime, approval_id: uuid.UUID | None = None
) -> Event:
    """denial.resolved, for claims to close the claim out of its A/R (dated as the ledger rows)."""
    return new_event(
        DenialResolved(
            claim_id=item.claim_id,
            account_id=item.account_id,
            payer_id=item.payer_id,
            resolution=resolution,  # type: ignore[arg-type]
            amount=amount,
            resolved_at=when,
            approval_id=approval_id,
        )
    )
