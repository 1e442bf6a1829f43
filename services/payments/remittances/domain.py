"""What an 835 says, as plain dataclasses with its money rules (no I/O, no X12 syntax):
claims and their service lines, adjustments, provider-level adjustments, the sums the
posting uses, the guide's balancing rules, and `Issue`, an error located as a 999 locates
it. `x12.py` reads a file into these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.payments.institutional.domain import Mia835, Moa835
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
    revenue_code: str | None = None  # institutional: SVC01-2 of an NU line, else SVC04
    line_number: int | None = None  # the line of our claim it answers (set when posted)


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
    # Institutional claims: CLP08 facility type (a place of service on professional ones), CLP09
    # frequency, CLP11 DRG and CLP12 its weight, MIA (inpatient) or MOA (outpatient).
    facility_type_code: str = ""
    frequency_code: str = ""
    drg_code: str = ""
    drg_weight: Decimal | None = None
    inpatient: Mia835 | None = None
    outpatient: Moa835 | None = None

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
    handling_code: str = ""
    amount: Decimal = ZERO
    credit_debit: str = "C"
    method_code: str = ""
    paid_date: date | None = None
    trace_number: str = ""
    trace_originator: str = ""
    production_date: date | None = None
    payer_name: str = ""
    payer_identifiers: list[str] = field(default_factory=list)
    payee_name: str = ""
    payee_id: str = ""
    payer_position: int = 0
    bpr_position: int = 0
    # Where each payer identifier came from, in file order: ("N104" | "REF*2U" | ... | "TRN03", value).
    payer_sources: list[tuple[str, str]] = field(default_factory=list)
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

    @property
    def deposit(self) -> Decimal:
        """BPR02 signed by BPR03: what the payment moves into (C) or out of (D) the account."""
        return self.amount if self.credit_debit != "D" else -self.amount


# The rules an 835 error can break, named after the 999's segment (IK304) and element
# (IK403) syntax errors where one fits, and after the 835 guide's balancing for the rest.
ENVELOPE = "envelope"  # ISA/IEA, GS/GE: the interchange cannot be read; the whole file is refused
SEGMENT_COUNT = "segment_count"  # IK502 4: SE01 is not the set's segment count
TRANSACTION_TYPE = "transaction_type"  # IK502 1: not an 835
REQUIRED_SEGMENT = "required_segment"  # IK304 3
UNEXPECTED_SEGMENT = "unexpected_segment"  # IK304 2
REQUIRED = "required"  # IK403 1: a required element is missing
CODE_VALUE = "code_value"  # IK403 7: not one of the element's codes
NUMBER = "number"  # IK403 6: not a number
DECIMALS = "decimals"  # an amount with more than two decimals
DATE = "date"  # IK403 8: not a CCYYMMDD date
BALANCE = "balance"  # the guide's balancing (section 1.10.2.1): line, claim, BPR02


@dataclass(frozen=True)
class Issue:
    """One error of an 835, located as a 999 locates it: the transaction set (ST02, AK2/IK5),
    the segment's position in the file and in its set (IK302, ST = 1), its id (IK301), the
    element (IK401) and the rule it broke, in words. Never the data: 835s carry PHI."""

    rule: str
    message: str
    position: int | None = None
    segment: str | None = None
    element: int | None = None
    transaction_set: str | None = None
    set_position: int | None = None

    @classmethod
    def of(cls, error: X12Error, rule: str, **where: object) -> Issue:
        return cls(rule, error.message, error.position, error.segment, error.element, **where)  # type: ignore[arg-type]

    @property
    def pointer(self) -> str:
        """`segment[13].SE01`, as problem+json names a field."""
        return self.error().pointer

    def error(self) -> X12Error:
        return X12Error(self.message, position=self.position, segment=self.segment, element=self.element)

    def as_json(self) -> dict[str, object]:
        return {
            "transaction_set": self.transaction_set,
            "position": self.position,
            "set_position": self.set_position,
            "segment": self.segment,
            "element": self.element,
            "rule": self.rule,
            "message": self.message,
            "field": self.pointer,
        }


@dataclass
class Set835:
    """One transaction set as read: its remittance (partly filled when the set is broken),
    every error found in it, and the digest of its content."""

    index: int  # 0-based, in file order
    control_number: str  # ST02
    remittance: Remittance835
    errors: list[Issue]
    digest: str
    deposit_read: bool = True  # BPR02 and BPR03 could be read: `remittance.deposit` is real

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Read835:
    """An 835 file as read: its sets, or, when the interchange itself is broken, no sets and
    the envelope error that refuses the whole file."""

    sets: list[Set835]
    errors: list[Issue]

    @property
    def all_errors(self) -> list[Issue]:
        return self.errors + [e for s in self.sets for e in s.errors]


def balance_issues(
    remittance: Remittance835, *, unreadable: set[int], total_readable: bool
) -> list[X12Error]:
    """The guide's balancing rules (005010X221A1 section 1.10.2.1): each service line and
    claim balances with its adjustments, and BPR02 is the claim payments less the
    provider-level adjustments. Messages name elements, never their values. Claims at the
    positions in `unreadable` (an amount could not be read) are skipped, and so is BPR02
    unless `total_readable`, so that one bad number is reported once and not again as every
    sum it feeds. CLP05 that differs from the PR adjustments is a warning on the remittance,
    not an error."""
    errors: list[X12Error] = []
    for claim in remittance.claims:
        if claim.position not in unreadable:
            errors += _claim_balance(remittance, claim)
    expected = remittance.claims_paid - remittance.provider_adjustment_total
    if remittance.credit_debit == "D":
        expected = -expected
    if total_readable and expected != remittance.amount:
        errors.append(
            X12Error(
                "BPR02 is not the claim payments (CLP04) less the provider-level adjustments (PLB)",
                position=remittance.bpr_position,
                segment="BPR",
                element=2,
            )
        )
    return errors


def _claim_balance(remittance: Remittance835, claim: Claim835) -> list[X12Error]:
    errors = []
    for line in claim.lines:
        line_adj = sum((a.amount for a in line.adjustments), ZERO)
        if line.charge - line.paid - line_adj != 0:
            errors.append(
                X12Error(
                    "service line does not balance: SVC02 charge less SVC03 paid less its CAS is not 0",
                    position=line.position,
                    segment="SVC",
                    element=3,
                )
            )
    all_adj = sum((a.amount for a in claim.all_adjustments), ZERO)
    if claim.charge - claim.paid - all_adj != 0:
        errors.append(
            X12Error(
                "claim does not balance: CLP03 charge less CLP04 paid less its adjustments is not 0",
                position=claim.position,
                segment="CLP",
                element=4,
            )
        )
    elif claim.lines:
        claim_adj = sum((a.amount for a in claim.adjustments), ZERO)
        if sum((line.paid for line in claim.lines), ZERO) - claim_adj != claim.paid:
            errors.append(
                X12Error(
                    "claim payment is not the sum of its line payments less claim adjustments",
                    position=claim.position,
                    segment="CLP",
                    element=4,
                )
            )
    if claim.patient_responsibility != claim.pr_total:
        remittance.warnings.append(
            X12Error(
                "CLP05 patient responsibility differs from the PR adjustments",
                position=claim.position,
                segment="CLP",
                element=5,
            )
        )
    return errors
