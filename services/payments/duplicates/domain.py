"""Possible-duplicate rules without I/O: what "the same adjudication" is, which posting of it
is live while a batch of claims is posted in file order, and the queue's row.

835 005010X221A1, loop 2100 CLP: CLP01 is our patient control number, CLP02 the claim status
(1/2/3 processed as primary/secondary/tertiary, 4 denied, 19/20/21 processed and forwarded to
another payer, 22 reversal of a previous payment, 23 not our claim, forwarded), CLP07 the
payer's claim control number for this adjudication (its ICN/DCN). The guide's rule for a changed
adjudication (section 1.10.2.8, Reversals and Corrections) is a reversal (CLP02 = 22, the
original's CLP07, negated amounts) followed by the corrected claim payment. So:

* the same adjudication is the same payer, CLP01 and CLP07 (an absent CLP07 counts as its own
  value: two adjudications of one payer and PCN without one are not told apart);
* a non-reversal CLP of an adjudication whose posting is live (nothing reversed it) is a second
  adjudication sent without a reversal: a possible duplicate payment, whatever its status (a
  denial re-sent makes a second denial work item, a payment a second payment);
* a reversal takes its original out of the live set, so the re-adjudication after it posts,
  even with the same CLP07, in the same file or a later one;
* a corrected claim the payer adjudicates under a new CLP07 is another adjudication: it posts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.payments.postings.domain import REVERSAL, claim_to_json
from services.payments.remittances.domain import Claim835

OPEN, POSTED, PAYER_PAID_TWICE, NO_MONEY = "open", "posted", "payer_paid_twice", "no_money"
STATUSES = (OPEN, POSTED, PAYER_PAID_TWICE, NO_MONEY)
REASON = "this adjudication (payer, CLP01, CLP07) is already posted and not reversed"
REFUND_REFERENCE = "refund to payer"  # how a credit balance closed by a refund is recovered

Key = tuple[str, str, str]


def key_of(payer_id: str, claim: Claim835) -> Key:
    """The adjudication a remittance claim is: payer, CLP01, CLP07 ('' when absent)."""
    return (payer_id, claim.patient_control_number, claim.payer_claim_control_number or "")


@dataclass(frozen=True)
class Live:
    """A live posting of an adjudication: its id, and the claim and account it posted to."""

    id: uuid.UUID
    claim_id: uuid.UUID
    account_id: str


class LivePostings:
    """The live (not reversed, not a reversal) postings of some adjudications, newest last,
    kept current while a batch posts claims in file order: what it posts is added, what its
    reversals reverse is removed."""

    def __init__(self, rows: Iterable[Any] = ()) -> None:
        self._by_key: dict[Key, list[Live]] = {}
        self._key_of: dict[uuid.UUID, Key] = {}
        for r in rows:
            key = (r.payer_id, r.patient_control_number, r.payer_claim_control_number or "")
            self.add(key, Live(r.id, r.claim_id, r.account_id))

    def find(self, key: Key) -> Live | None:
        """The newest live posting of this adjudication, or None."""
        found = self._by_key.get(key)
        return found[-1] if found else None

    def add(self, key: Key, posting: Live) -> None:
        self._by_key.setdefault(key, []).append(posting)
        self._key_of[posting.id] = key

    def remove(self, posting_id: uuid.UUID) -> None:
        """A posting reversed (by a CLP02 = 22): its adjudication may be posted again."""
        key = self._key_of.pop(posting_id, None)
        if key is not None:
            self._by_key[key] = [p for p in self._by_key[key] if p.id != posting_id]


def is_adjudication(claim: Claim835) -> bool:
    """Whether a remittance claim adjudicates (anything but a reversal)."""
    return claim.status_code != REVERSAL


def duplicate_row(
    *,
    remittance_id: uuid.UUID,
    payer_id: str,
    claim: Claim835,
    original: Live,
    now: datetime,
    unmatched_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The queue's row for a remittance claim parked as a possible duplicate of `original`
    (its live posting); the whole claim is kept to post it later."""
    return {
        "id": uuid.uuid4(),
        "remittance_id": remittance_id,
        "payer_id": payer_id,
        "patient_control_number": claim.patient_control_number,
        "payer_claim_control_number": claim.payer_claim_control_number or "",
        "status_code": claim.status_code,
        "charge": claim.charge,
        "paid": claim.paid,
        "patient_responsibility": claim.patient_responsibility,
        "claim": claim_to_json(claim),
        "original_posting_id": original.id,
        "claim_id": original.claim_id,
        "account_id": original.account_id,
        "reason": REASON,
        "unmatched_id": unmatched_id,
        "created_at": now,
    }


def credit_amount(paid: Decimal) -> Decimal:
    """The payer credit balance a duplicate paid twice opens, as a forward balance reads it:
    negative, money the payer added to a payment and will take back (PLB04's sign)."""
    return -paid
