"""Provider-level adjustment rules without I/O (835 005010X221A1, PLB segment).

PLB03-1 is the reason, PLB03-2 the reference, PLB04 the amount, whose sign is the guide's:
a positive amount decreases the payment, a negative one increases it (BPR02 = Σ CLP04 -
Σ PLB04). What the posting does with each one, in file order:

* **forward balance** (`forward_balance`): FB carries an amount from this remittance to a
  later one. The first FB with a reference opens a forward balance for the payer; a later
  one with the same reference adds to it, or (opposite sign) recovers it, until its open
  amount is zero. A WO (overpayment recovery) with the reference and the opposite sign of
  an open forward balance recovers it too: Medicare carries an overpayment forward with FB
  and takes it back with WO. No ledger row: the claim whose reprocessing caused it was
  already settled at claim level (CLP02 = 22 and the corrected claim); a forward balance
  is cash the payer defers, not money the claim owes.
* **claim ledger** (`claim_ledger`): WO, WU (recoveries) and CS (adjustment) whose
  reference names a claim change what the payer paid on that claim: one ledger row on the
  claim's item (see `claim_entry`).
* **claim reference** (`claim_reference`): any other reason naming a claim (L6 interest,
  50/51 late charge and interest penalty, 72 authorized return, ...) is tied to the claim
  and its account and shown there, with no ledger row: interest and penalties are about when
  the payer paid, not about what the claim is owed, and a 72 settles a refund the practice
  sent outside the 835; on the claim's item they would leave a balance nobody owes.
* **provider** (`provider`): everything else stays at provider level.

A reference names a claim when it, or one of its space-separated parts ("PCN ICN", as
several payers write it), is the payer claim control number (CLP07) of one of this payer's
postings, else the patient control number (CLP01) of a claim sent to this payer; the
payer's number wins (a corrected claim may reuse the PCN; the ICN names the claim paid).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.payments.accounts.domain import Entry
from services.payments.remittances.domain import ProviderAdjustment

FORWARD_BALANCE = "FB"
OVERPAYMENT_RECOVERY = "WO"
CLAIM_MONEY = {"WO": "overpayment recovery", "WU": "unspecified recovery", "CS": "adjustment"}
PROVIDER, CLAIM_LEDGER, CLAIM_REFERENCE, FORWARD = (
    "provider",
    "claim_ledger",
    "claim_reference",
    "forward_balance",
)
ZERO = Decimal("0.00")


def reference_keys(reference: str) -> list[str]:
    """What PLB03-2 may name a claim by: the whole reference, then each of its parts."""
    whole = reference.strip()
    return list(dict.fromkeys([whole, *whole.split()])) if whole else []


@dataclass(frozen=True)
class ClaimRef:
    """A claim a reference names, and where its money is on the ledger."""

    claim_id: uuid.UUID
    account_id: str
    coverage_order: str
    date_of_service: date | None


def claim_named(
    reference: str,
    payer_id: str,
    by_payer_number: dict[tuple[str, str], ClaimRef],
    by_pcn: dict[tuple[str, str], ClaimRef],
) -> ClaimRef | None:
    """The claim PLB03-2 names for this payer, or None: the payer claim control number first."""
    keys = reference_keys(reference)
    for found in (by_payer_number, by_pcn):
        for key in keys:
            if (payer_id, key) in found:
                return found[payer_id, key]
    return None


@dataclass
class ForwardBalance:
    """A forward balance as the batch sees it (`new`: not stored yet)."""

    id: uuid.UUID
    payer_id: str
    reference: str
    claim_id: uuid.UUID | None
    account_id: str | None
    opened_amount: Decimal
    open_amount: Decimal
    opened_by_remittance_id: uuid.UUID
    opened_at: datetime
    recovered_by_remittance_id: uuid.UUID | None = None
    recovered_at: datetime | None = None
    new: bool = False

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "new"}


def _recovers(balance: ForwardBalance, adj: ProviderAdjustment) -> bool:
    """Whether `adj` belongs to this open forward balance: any FB with its reference, or a WO
    with its reference and the opposite sign."""
    if adj.reason_code == FORWARD_BALANCE:
        return True
    return adj.reason_code == OVERPAYMENT_RECOVERY and (adj.amount > 0) != (balance.open_amount > 0)


def place(
    adj: ProviderAdjustment,
    *,
    payer_id: str,
    claim: ClaimRef | None,
    balances: dict[tuple[str, str], ForwardBalance],
    remittance_id: uuid.UUID,
    now: datetime,
) -> tuple[str, ForwardBalance | None]:
    """What one PLB adjustment does (its effect) and the forward balance it opened, added to
    or recovered; `balances` holds the open ones by (payer, reference) and is kept current."""
    key = (payer_id, adj.reference)
    balance = balances.get(key) if adj.reference else None
    if balance is not None and balance.recovered_at is None and _recovers(balance, adj):
        balance.open_amount += adj.amount
        if balance.open_amount == 0:
            balance.recovered_by_remittance_id, balance.recovered_at = remittance_id, now
        return FORWARD, balance
    if adj.reason_code == FORWARD_BALANCE:
        balance = ForwardBalance(
            uuid.uuid4(),
            payer_id,
            adj.reference,
            claim.claim_id if claim else None,
            claim.account_id if claim else None,
            adj.amount,
            adj.amount,
            remittance_id,
            now,
            new=True,
        )
        if adj.reference:
            balances[key] = balance
        return FORWARD, balance
    if claim is not None:
        return (CLAIM_LEDGER if adj.reason_code in CLAIM_MONEY else CLAIM_REFERENCE), None
    return PROVIDER, None


def claim_entry(adj: ProviderAdjustment, claim: ClaimRef, adjustment_id: int) -> Entry:
    """The claim's ledger row for a PLB that changes what the payer paid on it.

    Its amount is PLB04 itself. Positive: the payer kept that much back from this payment to
    take back what it paid on the claim, so the claim owes it again (+); a recoupment of an
    earlier overpayment (the item's credit) brings the item back to zero. Negative: the payer
    paid that much more for the claim (-), like a payment. It is an `insurance_payment` on the
    claim's item, in the insurance bucket, where every payer's payments go (a secondary claim's
    insurance bucket holds what the primary left to the patient, moved to it when it was
    billed: shared.receivables)."""
    return Entry(
        account_id=claim.account_id,
        entry_type="insurance_payment",
        amount=adj.amount,
        bucket="insurance",
        description=f"Provider adjustment {adj.reason_code} ({CLAIM_MONEY[adj.reason_code]})",
        item_id=claim.claim_id,
        claim_id=claim.claim_id,
        service_date=claim.date_of_service,
        provider_adjustment_id=adjustment_id,
    )


def adjustment_row(
    adjustment_id: int,
    remittance_id: uuid.UUID,
    adj: ProviderAdjustment,
    claim: ClaimRef | None,
    effect: str,
    balance: ForwardBalance | None,
) -> dict[str, Any]:
    """Its `provider_adjustments` row."""
    return {
        "id": adjustment_id,
        "remittance_id": remittance_id,
        "provider_id": adj.provider_id,
        "fiscal_period_date": adj.fiscal_period_date,
        "reason_code": adj.reason_code,
        "reference": adj.reference,
        "amount": adj.amount,
        "claim_id": claim.claim_id if claim else None,
        "account_id": claim.account_id if claim else None,
        "effect": effect,
        "forward_balance_id": balance.id if balance else None,
    }
