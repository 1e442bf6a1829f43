"""What an 835 says, as plain dataclasses with its money rules (no I/O, no X12 syntax):
claims and their service lines, adjustments, provider-level adjustments, and the sums the
posting and the balancing checks use. `x12.py` reads a file into these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from shared.x12 import X12Error

ZERO = Decimal("0.00")
PAYMENT_METHODS = {"ACH": "ach", "CHK": "check", "BOP": "other", "FWT": "eft", "NON": "other"}


@dataclass
class Adjustment835:
    """One CAS reason: group, reason code, amount (and quantity)."""

    group_code: str
    reason_code: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass
class Line835:
    """A service line (SVC) with its adjustments, allowed amount (AMT*B6) and remarks."""

    qualifier: str
    code: str
    modifiers: list[str]
    charge: Decimal
    paid: Decimal
    units: Decimal | None
    adjustments: list[Adjustment835] = field(default_factory=list)
    allowed: Decimal | None = None  # AMT*B6
    remark_codes: list[str] = field(default_factory=list)
    service_date: date | None = None
    position: int = 0
    control_number: str | None = None  # REF*6R: the line item control number of the 837 line


@dataclass
class Party835:
    """A person of loop 2100 (NM1*QC the patient, NM1*IL the insured): name and member id (PHI)."""

    last_name: str
    first_name: str = ""
    member_id: str = ""  # NM109


@dataclass
class Claim835:
    """A claim payment (CLP) with its claim-level adjustments and service lines."""

    patient_control_number: str
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    filing_indicator: str
    payer_claim_control_number: str
    adjustments: list[Adjustment835] = field(default_factory=list)
    lines: list[Line835] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)
    position: int = 0
    patient: Party835 | None = None  # NM1*QC
    subscriber: Party835 | None = None  # NM1*IL, when the insured is not the patient's own id
    statement_from: date | None = None  # DTM*232
    statement_to: date | None = None  # DTM*233

    @property
    def all_adjustments(self) -> list[Adjustment835]:
        return self.adjustments + [a for line in self.lines for a in line.adjustments]

    @property
    def line_remark_codes(self) -> list[str]:
        """The lines' remark codes (loop 2110 LQ*HE), in line order, each once."""
        return list(dict.fromkeys(code for line in self.lines for code in line.remark_codes))

    @property
    def pr_total(self) -> Decimal:
        return sum((a.amount for a in self.all_adjustments if a.group_code == "PR"), ZERO)

    @property
    def allowed(self) -> Decimal:
        """Sum of the lines' AMT*B6 when every line has one, else paid plus patient share."""
        if self.lines and all(line.allowed is not None for line in self.lines):
            return sum((line.allowed or ZERO for line in self.lines), ZERO)
        return self.paid + self.patient_responsibility

    def adjustment_totals(self) -> dict[tuple[str, str], Decimal]:
        """Claim and line adjustments summed by (group, reason)."""
        totals: dict[tuple[str, str], Decimal] = {}
        for adj in self.all_adjustments:
            key = (adj.group_code, adj.reason_code)
            totals[key] = totals.get(key, ZERO) + adj.amount
        return totals


@dataclass
class ProviderAdjustment:
    """One provider-level adjustment (PLB reason and amount)."""

    provider_id: str
    fiscal_period_date: date | None
    reason_code: str
    reference: str
    amount: Decimal  # positive reduces the payment, negative adds to it (guide convention)


@dataclass
class Remittance835:
    """One 835 transaction set: the payment (BPR/TRN), payer and payee, claims and PLB."""

    control_number: str
    handling_code: str
    amount: Decimal
    credit_debit: str
    method_code: str
    paid_date: date | None
    trace_number: str
    trace_originator: str
    production_date: date | None
    payer_name: str
    payer_identifiers: list[str]
    payee_name: str
    payee_id: str
    payer_position: int = 0
    claims: list[Claim835] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)

    @property
    def method(self) -> str:
        return PAYMENT_METHODS.get(self.method_code, "other")

    @property
    def claims_paid(self) -> Decimal:
        return sum((c.paid for c in self.claims), ZERO)

    @property
    def provider_adjustment_total(self) -> Decimal:
        return sum((p.amount for p in self.provider_adjustments), ZERO)
