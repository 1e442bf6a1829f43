"""The one rule of what a payer's adjudication does to insurance A/R, shared by payments (its
ledger) and claims (its A/R report), so that the two always agree.

835 005010X221A1 loops 2100/2110 CAS: CAS01 is the group code, CAS02 the claim adjustment reason
code (CARC). An adjustment is a *denial* unless it is a contractual write-down or ordinary cost
sharing (`NOT_DENIALS`). What is not a denial leaves insurance A/R at once: a contractual
write-down (CO-45, CO-253) is written off, cost sharing (PR-1 deductible, PR-2 coinsurance,
PR-3 copay) moves to the patient. A denied amount stays with the payer, shown as denied, until
it is worked: appealed (it stays), corrected (the replacement retires it), written off with a
second person's approval, or billed to the patient, which only group PR allows (CO means the
provider may not bill the patient; PI and OA are not the patient's either).

A later payer's claim (secondary, tertiary) does not carry the charge again: when it is billed,
what the previous payer left to the patient (its cost sharing) moves from the patient to the
later payer's insurance A/R, so the patient is not dunned for what another payer may still
pay. That payer's 835 then pays part of it, leaves cost sharing to the patient (PR), may deny
some of it (kept until worked), and what is left beyond that is its write-down (its CLP
restates the whole charge, with the prior payers' part as OA-23, so its own CAS amounts do not
say how much of the moved balance each one covers). A later payer paying more than was moved
credits the patient, as before.

This is a contract between the services: change it here, for both, never in one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

ZERO = Decimal("0.00")

# (group, CARC) pairs that are not denials. CO-42 ("charges exceed our fee schedule") and CO-A2
# ("contractual adjustment") are retired codes that still arrive on real 835s with the meaning
# of CO-45. OA-23 is the prior payers' adjudication restated on a later payer's claim.
NOT_DENIALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("CO", "45"),
        ("CO", "253"),
        ("CO", "42"),
        ("CO", "A2"),
        ("PR", "1"),
        ("PR", "2"),
        ("PR", "3"),
        ("OA", "23"),
    }
)
PATIENT_BILLABLE_GROUPS = ("PR",)  # a denial the patient may be billed for, once worked


class Adjusted(Protocol):
    """A CAS adjustment, as the 835 reader, the events and the API carry it."""

    @property
    def group_code(self) -> str: ...
    @property
    def reason_code(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...


def is_denial(group_code: str, reason_code: str, amount: Decimal) -> bool:
    """A positive adjustment that is neither a contractual write-down nor cost sharing.
    (A negative one, e.g. OA-94 or a reversal's, gives money back: never a denial.)"""
    return amount > 0 and (group_code, reason_code) not in NOT_DENIALS


def denied(adjustments: Iterable[Adjusted]) -> Decimal:
    """The denied total of an adjudication."""
    return sum((a.amount for a in adjustments if is_denial(a.group_code, a.reason_code, a.amount)), ZERO)


@dataclass(frozen=True)
class Move:
    """One change a posting makes: to the insurance bucket and to the patient bucket (a
    transfer changes both by opposite amounts), of an entry type, for a CAS (or none)."""

    entry_type: str  # insurance_payment | adjustment | transfer
    insurance: Decimal
    patient: Decimal
    description: str
    group_code: str | None = None
    reason_code: str | None = None


def posting_moves(
    paid: Decimal, adjustments: Iterable[Adjusted], *, primary: bool, open_insurance: Decimal = ZERO
) -> list[Move]:
    """What one claim adjudication (CLP04 and the CAS of the claim and its lines) moves.
    `open_insurance`: for a later payer, what its claim has in insurance A/R before it."""
    adjustments = [a for a in adjustments if a.amount]
    moves = [Move("insurance_payment", -paid, ZERO, "Insurance payment")] if paid else []
    cost_sharing = ZERO
    for adj in adjustments:
        label = f"{adj.group_code}-{adj.reason_code}"
        codes = {"group_code": adj.group_code, "reason_code": adj.reason_code}
        if is_denial(adj.group_code, adj.reason_code, adj.amount):
            continue  # stays with insurance until worked
        if adj.group_code == "PR":
            cost_sharing += adj.amount
            moves.append(
                Move("transfer", -adj.amount, adj.amount, f"Patient responsibility {label}", **codes)
            )
        elif primary:
            moves.append(Move("adjustment", -adj.amount, ZERO, f"Adjustment {label}", **codes))
    if primary:
        return moves
    left = open_insurance - paid - cost_sharing
    kept = max(ZERO, min(denied(adjustments), left))
    rest = left - kept
    if rest > 0:
        moves.append(Move("adjustment", -rest, ZERO, "Adjustment: later payer's write-down"))
    elif rest < 0:
        moves.append(Move("transfer", -rest, rest, "Later payer paid beyond the balance moved to it"))
    return moves


def insurance_change(moves: Iterable[Move]) -> Decimal:
    """What the moves do to insurance A/R."""
    return sum((m.insurance for m in moves), ZERO)


def cost_sharing_moved(moves: Iterable[Move]) -> Decimal:
    """What the moves gave the patient by transfer (what a next payer is then billed for)."""
    return sum((m.patient for m in moves if m.entry_type == "transfer"), ZERO)
