"""How a sandbox payer pays as secondary (or tertiary), for 837P lines (adjudication.py) and
837I claims and lines (institutional.py) alike: from the prior payer's adjudication the claim
carries (loop 2320 / 2430 CAS and paid amounts)."""

from __future__ import annotations

from decimal import Decimal

from deploy.payer_sandbox.claim837 import Cas
from deploy.payer_sandbox.claimpayment import ZERO, Adj

# Which of the prior payer's patient-responsibility amounts the secondary covers first.
_PR_ORDER = {"3": 0, "1": 1, "2": 2}


def secondary_share(
    room: Decimal, prior_paid: Decimal, prior: list[Cas], charge: Decimal
) -> tuple[Decimal, list[Adj]]:
    """What a secondary payer pays of `charge` and its adjustments, 837P line or 837I claim or
    line alike: the prior payer's patient responsibility (copay, deductible, coinsurance in that
    order, capped by what the prior payer left of the charge) up to `room`; what it does not pay
    stays PR; the rest (what the prior payer paid or adjusted) is OA-23."""
    responsibility = sorted(
        ((a.reason, a.amount) for a in prior if a.group == "PR" and a.amount > 0),
        key=lambda item: _PR_ORDER.get(item[0], 9),
    )
    cap = max(ZERO, charge - prior_paid)
    paid = ZERO
    leftover: list[Adj] = []
    for reason, amount in responsibility:
        amount = min(amount, cap)
        cap -= amount
        covered = min(amount, room)
        room -= covered
        paid += covered
        if amount - covered > 0:
            leftover.append(Adj("PR", reason, amount - covered))
    prior_share = charge - paid - sum((a.amount for a in leftover), ZERO)
    return paid, ([Adj("OA", "23", prior_share)] if prior_share > 0 else []) + leftover
