"""Intake rules without I/O: what a transaction set's outcome means for its file and for the
HTTP answer, what differs between a posted remittance and a same-trace set with other
content (named by segment and element, never by value), and where each cent of a file went.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.payments.limits.domain import Limits, located_over
from services.payments.remittances.domain import ZERO, Claim835, Issue, Read835, Remittance835

# What became of a transaction set.
POSTED = "posted"  # posted as a remittance (its claims posted or parked)
DUPLICATE = "duplicate"  # the same payer, trace number and content came before
REFUSED = "refused"  # broken: every error is kept; a repair may follow
PAYER_NEEDED = "payer_needed"  # held until staff register or map its payer
CONFLICT = "conflict"  # the same payer and trace number with other content: held for review
DISMISSED = "dismissed"  # a conflict staff dismissed, with a reason
REPLACED = "replaced"  # posted, then reversed when staff replaced it with a corrected set
REPAIRED = "repaired"  # refused, then posted (or found posted) from a repair file
HELD = (PAYER_NEEDED, CONFLICT)
OUTCOMES = (POSTED, DUPLICATE, REFUSED, PAYER_NEEDED, CONFLICT, DISMISSED, REPLACED, REPAIRED)

# Every cent of a file is in one of these (a posted set's split into posted, unmatched, and
# the claims parked as possible duplicates: still open, owed back to the payer who paid twice,
# or dismissed because the payer sent the 835 twice but the money once).
POSTED_SPLIT = ("posted", "unmatched", "possible_duplicate", "payer_credit", "no_money")
BUCKETS = (*POSTED_SPLIT, *(o for o in OUTCOMES if o != POSTED))


class Refused(Exception):
    """Files of a `remittance.received` poll that nothing could be posted from; they are
    kept with their errors, and the event goes to the dead-letter topic as before."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def file_outcome(outcomes: Iterable[str], *, repaired: bool = False) -> str:
    """A received file's outcome from its sets' (none: the envelope was refused; `repaired`:
    a repair of it was not refused)."""
    kinds = set(outcomes)
    if not kinds:
        return "repaired" if repaired else REFUSED
    for only in (REFUSED, DUPLICATE, DISMISSED):
        if kinds == {only}:
            return only
    open_ = bool(kinds & set(HELD))
    if open_ or REFUSED in kinds:
        if kinds & {POSTED, DUPLICATE, REPLACED}:
            return "partially_posted"
        return "held" if open_ else REFUSED
    return REPAIRED if REPAIRED in kinds else POSTED


def answer_status(kinds: list[str]) -> int:
    """The HTTP status of an upload from what each set answers as (a duplicate of a held set
    answers as that set): 201 when something posted and nothing else happened, 200 when all
    were duplicates, 409 when all are conflicts, 202 when all wait for their payer, 422 when
    nothing could be read or posted, and 207 (Multi-Status) when the sets' outcomes differ."""
    found = set(kinds)
    if not found or found == {REFUSED}:
        return 422
    if found <= {POSTED, DUPLICATE}:
        return 201 if POSTED in found else 200
    if found == {CONFLICT}:
        return 409
    if found == {PAYER_NEEDED}:
        return 202
    return 207


def counts(outcomes: Iterable[str]) -> dict[str, int]:
    return dict(Counter(outcomes))


@dataclass(frozen=True)
class Difference:
    """What differs between a set and the remittance posted under its payer and trace
    number: the element (e.g. `BPR02`), in words, and where in the new set (segment
    position and, for claims, which claim by its order in the set)."""

    element: str
    what: str
    position: int | None = None
    claim: int | None = None

    @property
    def field(self) -> str:
        return f"segment[{self.position}].{self.element}" if self.position else self.element

    def as_json(self) -> dict[str, Any]:
        return {
            "element": self.element,
            "what": self.what,
            "position": self.position,
            "claim": self.claim,
            "field": self.field,
        }


_CLAIM_ELEMENTS = (
    ("CLP01", "patient_control_number", "the patient control number"),
    ("CLP02", "status_code", "the claim status"),
    ("CLP03", "charge", "the claim charge"),
    ("CLP04", "paid", "the claim payment"),
    ("CLP05", "patient_responsibility", "the patient responsibility"),
    ("CLP07", "payer_claim_control_number", "the payer claim control number"),
    ("CLP08", "facility_type_code", "the facility type code"),
    ("CLP09", "frequency_code", "the claim frequency"),
    ("CLP11", "drg_code", "the DRG"),
    ("CLP12", "drg_weight", "the DRG weight"),
    ("MIA", "inpatient", "the inpatient adjudication"),
    ("MOA", "outpatient", "the outpatient adjudication"),
)


def differences(posted: Remittance835, new: Remittance835) -> list[Difference]:
    """What differs, as a list a reviewer can act on without seeing the values (they may be
    PHI): the payment (BPR02 total, BPR03 credit/debit, BPR04 method, BPR16 date), the
    provider-level adjustments (PLB total), the number of claims, and each claim by its order
    (CLP elements, its adjustments, its service lines)."""
    found = []
    at = new.bpr_position or None
    for element, attr, what in (
        ("BPR02", "amount", "the total payment"),
        ("BPR03", "credit_debit", "credit or debit"),
        ("BPR04", "method_code", "the payment method"),
        ("BPR16", "paid_date", "the payment date"),
    ):
        if getattr(posted, attr) != getattr(new, attr):
            found.append(Difference(element, f"{what} differs", at))
    if posted.production_date != new.production_date:
        found.append(Difference("DTM405", "the production date differs"))
    if posted.provider_adjustment_total != new.provider_adjustment_total or len(
        posted.provider_adjustments
    ) != len(new.provider_adjustments):
        found.append(Difference("PLB", "the provider-level adjustments differ"))
    if len(posted.claims) != len(new.claims):
        found.append(Difference("CLP", "the number of claims differs"))
    for number, (old, claim) in enumerate(zip(posted.claims, new.claims, strict=False), start=1):
        found += _claim_differences(old, claim, number)
    return found or [Difference("ST", "other segments of the set differ")]


def _claim_differences(old: Claim835, new: Claim835, number: int) -> list[Difference]:
    found = [
        Difference(element, f"{what} of claim {number} differs", new.position, number)
        for element, attr, what in _CLAIM_ELEMENTS
        if getattr(old, attr) != getattr(new, attr)
    ]
    if old.adjustment_totals() != new.adjustment_totals():
        found.append(Difference("CAS", f"the adjustments of claim {number} differ", new.position, number))
    lines = [(line.code, line.revenue_code, line.charge, line.paid) for line in old.lines]
    if lines != [(line.code, line.revenue_code, line.charge, line.paid) for line in new.lines]:
        found.append(Difference("SVC", f"the service lines of claim {number} differ", new.position, number))
    return found


@dataclass(frozen=True)
class SetMoney:
    """A set's money as stored: its outcome, signed BPR02 (None: unreadable) and, when it
    posted, what its remittance posted (less PLB), still parks in the unmatched queue, and
    parks as possible duplicates (open, payer credit, no money)."""

    outcome: str
    amount: Decimal | None
    posted: Decimal = ZERO
    unmatched: Decimal = ZERO
    possible_duplicate: Decimal = ZERO
    payer_credit: Decimal = ZERO
    no_money: Decimal = ZERO


def file_money(sets: Iterable[SetMoney]) -> dict[str, Any]:
    """Where each cent of a file is: `deposit` (the sets' BPR02, signed) equals the sum of
    the buckets — posted, unmatched (parked), possible_duplicate (an adjudication posted
    before, parked), payer_credit (paid twice: owed back to the payer), no_money (a duplicate
    835 without its money), duplicate (posted before), payer_needed,
    conflict, refused (held), dismissed, replaced, repaired — to the cent; `balanced` says
    so. Sets whose BPR02 could not be read are counted in `sets_without_amount`."""
    money: dict[str, Any] = {"deposit": ZERO, **dict.fromkeys(BUCKETS, ZERO), "sets_without_amount": 0}
    for s in sets:
        if s.amount is None:
            money["sets_without_amount"] += 1
            continue
        money["deposit"] += s.amount
        if s.outcome == POSTED:
            for bucket in POSTED_SPLIT:
                money[bucket] += getattr(s, bucket)
        else:
            money[s.outcome] += s.amount
    money["balanced"] = sum((money[b] for b in BUCKETS), ZERO) == money["deposit"]
    return money


def refuse_over_limits(read: Read835, limits: Limits) -> None:
    """A set whose BPR02 is more than the practice's maximum insurer payment gets an error like
    any other of its errors (rule `max_insurer_payment`, at BPR02, never the amount), so it is
    refused and kept, and nothing of it posts; the file answers as its sets' outcomes say."""
    for s in read.sets:
        if not s.deposit_read:
            continue
        r = s.remittance
        for _, rule, message in located_over(limits, "insurer_payment", [("BPR02", r.deposit)]):
            where = {"position": r.bpr_position or None, "segment": "BPR", "element": 2}
            s.errors.append(Issue(rule, message, transaction_set=s.control_number, **where))  # type: ignore[arg-type]
