"""A payer's answer to one claim, as the 835 carries it: the claim payment (CLP) with its
lines (SVC), adjustments (CAS) and, for institutional claims, the claim-level adjudication
(claim CAS, CLP11/CLP12 DRG and weight, MIA/MOA, statement period). Plain data shared by
adjudication.py, institutional.py, remit835.py and the store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Adj:
    group: str
    reason: str
    amount: Decimal


@dataclass(frozen=True)
class PaidLine:
    number: int
    code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    units: Decimal
    paid: Decimal
    allowed: Decimal | None
    adjustments: tuple[Adj, ...]
    date_of_service: date | None
    remarks: tuple[str, ...] = ()  # RARCs (LQ*HE)
    revenue_code: str = ""  # institutional lines: SVC01 NU:<revenue code>, or SVC04 beside HC:<code>


@dataclass(frozen=True)
class ClaimPayment:
    """One CLP of an 835: a claim as this payer paid (or reversed) it."""

    pcn: str
    status: str  # 1/2/3 processed as primary/secondary/tertiary, 4 denied, 22 reversal
    payer_id: str
    pccn: str
    filing_indicator: str
    place_of_service: str
    frequency_code: str
    member_id: str
    patient_last: str
    patient_first: str
    billing_npi: str
    billing_name: str
    lines: tuple[PaidLine, ...]
    claim_id: str | None = None
    # Institutional (institutional.py): a claim adjudicated as a whole (inpatient DRG or per
    # diem) has its charge and CAS at claim level and no SVC lines; CLP11/CLP12 the DRG and
    # its weight; MIA (inpatient) or MOA (outpatient) elements as written; DTM*232/233.
    claim_charge: Decimal | None = None
    claim_adjustments: tuple[Adj, ...] = ()
    drg_code: str = ""
    drg_weight: Decimal | None = None
    mia: tuple[str, ...] = ()
    moa: tuple[str, ...] = ()
    statement_from: date | None = None
    statement_to: date | None = None

    @property
    def charge(self) -> Decimal:
        lines = sum((line.charge for line in self.lines), ZERO)
        return lines + (self.claim_charge or ZERO)

    @property
    def paid(self) -> Decimal:
        lines = sum((line.paid for line in self.lines), ZERO)
        if self.claim_charge is None:
            return lines
        return lines + self.claim_charge - sum((a.amount for a in self.claim_adjustments), ZERO)

    @property
    def patient_responsibility(self) -> Decimal:
        adjustments = [*self.claim_adjustments, *(a for line in self.lines for a in line.adjustments)]
        return sum((a.amount for a in adjustments if a.group == "PR"), ZERO)

    def reversal(self) -> ClaimPayment:
        """The same claim with every amount negated and CLP02=22 (reversal of previous payment)."""
        lines = tuple(
            replace(
                line,
                charge=-line.charge,
                paid=-line.paid,
                allowed=-line.allowed if line.allowed is not None else None,
                adjustments=tuple(Adj(a.group, a.reason, -a.amount) for a in line.adjustments),
            )
            for line in self.lines
        )
        return replace(
            self,
            status="22",
            lines=lines,
            claim_charge=-self.claim_charge if self.claim_charge is not None else None,
            claim_adjustments=tuple(Adj(a.group, a.reason, -a.amount) for a in self.claim_adjustments),
            mia=_negated(self.mia, (1, 3)),
            moa=_negated(self.moa, (1,)),
        )


def _negated(elements: tuple[str, ...], money_at: tuple[int, ...]) -> tuple[str, ...]:
    """MIA/MOA elements of a reversal: the amounts (MIA02, MIA04, MOA02) negated, as payers do."""
    return tuple(
        str(-Decimal(v)) if i in money_at and v and Decimal(v) != 0 else v for i, v in enumerate(elements)
    )
