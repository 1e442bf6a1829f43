"""Reading an X12 005010X222A2 837P the way a clearinghouse front end does.

Only what adjudication and the 277CA-style edits need: the billing provider, subscriber
and payer, the claim (CLM), its prior authorization and original-claim references, the
other payer's adjudication for secondary claims (loops 2320/2330B/2430), and the lines.
Syntax comes from shared/x12.py; `validate` lists the front-end edits that reject a claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from shared import x12
from shared.identifiers import npi_is_valid

VERSION = "005010X222A2"


@dataclass
class Cas:
    group: str
    reason: str
    amount: Decimal


@dataclass
class Institutional837:
    """What an 837I adds to a claim (loop 2300): the type of bill (CLM05-1 facility type code),
    statement period (DTP*434), admission (DTP*435, CL101/CL102), discharge hour (DTP*096),
    patient status (CL103), diagnoses and procedures by HI qualifier, the DRG (HI*DR), value
    codes (HI*BE), the billing provider's taxonomy (PRV*BI), and the prior payer's MIA/MOA."""

    facility_type: str = ""
    statement_from: date | None = None
    statement_to: date | None = None
    admission_date: date | None = None
    admission_hour: str = ""
    admission_type: str = ""
    admission_source: str = ""
    patient_status: str = ""
    discharge_hour: str = ""
    principal_diagnosis: str = ""
    admitting_diagnosis: str = ""
    drg_code: str = ""
    procedures: list[str] = field(default_factory=list)
    value_codes: dict[str, Decimal] = field(default_factory=dict)
    taxonomy: str = ""
    other_mia: list[str] = field(default_factory=list)
    other_moa: list[str] = field(default_factory=list)

    @property
    def inpatient(self) -> bool:
        """Bill classification (type of bill digit 3, facility code digit 2) 1 or 2: inpatient."""
        return len(self.facility_type) == 2 and self.facility_type[1] in "12"


@dataclass
class Line:
    number: int
    code: str
    modifiers: list[str]
    charge: Decimal
    units: Decimal
    date_of_service: date | None
    prior_auth: str | None = None
    # Loop 2430: the prior payer's adjudication of this line (secondary claims).
    other_paid: Decimal | None = None
    other_adjustments: list[Cas] = field(default_factory=list)
    revenue_code: str = ""  # 837I SV201
    unit_basis: str = ""  # 837I SV204: UN units, DA days


@dataclass
class Claim837:
    receiver_id: str = ""  # ISA08: the clearinghouse the interchange is addressed to
    submitter_name: str = ""  # 1000A NM1*41: who sent it (the 277CA's information receiver)
    submitter_id: str = ""
    billing_name: str = ""
    billing_npi: str = ""
    payer_responsibility: str = "P"  # SBR01 of loop 2000B: P primary, S secondary, T tertiary
    member_id: str = ""
    subscriber_last: str = ""
    subscriber_first: str = ""
    patient_last: str = ""
    patient_first: str = ""
    payer_id: str = ""
    payer_name: str = ""
    filing_indicator: str = ""
    pcn: str = ""
    total_charge: Decimal | None = None
    place_of_service: str = ""
    frequency_code: str = "1"
    prior_auth: str | None = None
    original_reference: str | None = None
    diagnoses: list[str] = field(default_factory=list)
    # Loop 2320: the prior payer's claim-level adjudication.
    other_paid: Decimal | None = None
    other_adjustments: list[Cas] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    # 837I (005010X223A2) only: the institutional claim data (claim837i.py).
    institutional: Institutional837 | None = None

    @property
    def first_date(self) -> date | None:
        if self.institutional is not None and self.institutional.statement_from is not None:
            return self.institutional.statement_from
        dates = [line.date_of_service for line in self.lines if line.date_of_service]
        return min(dates) if dates else None

    @property
    def prior_lines_adjudicated(self) -> bool:
        """Whether the prior payer's adjudication comes per line (loop 2430)."""
        return any(line.other_paid is not None or line.other_adjustments for line in self.lines)

    @property
    def prior_adjudicated(self) -> bool:
        """Whether the claim carries the prior payer's adjudication (loop 2320 or 2430)."""
        return self.other_paid is not None or bool(self.other_adjustments) or self.prior_lines_adjudicated


def _cas(seg: x12.Segment) -> list[Cas]:
    """A CAS segment: a group code then up to six reason/amount/quantity triples."""
    out = []
    group = seg.get(1)
    for i in range(2, 20, 3):
        reason = seg.get(i)
        if not reason:
            continue
        amount = x12.read_amount(seg, i + 1)
        assert amount is not None
        out.append(Cas(group, reason, amount))
    return out


def _service_date(seg: x12.Segment) -> date:
    """DTP*472 as D8 or RD8 (a range: its first day)."""
    try:
        return datetime.strptime(seg.get(3)[:8], "%Y%m%d").date()
    except ValueError:
        raise seg.error("not a CCYYMMDD date", 3) from None


def parse_837(text: str) -> Claim837:
    """Parse the first claim of an 837P interchange; raises x12.X12Error with a location."""
    inter = x12.parse(text, expect="837")
    return parse_set(inter.transactions[0], receiver_id=inter.receiver_id)[0]


_HEADER_FIELDS = (
    "receiver_id", "submitter_name", "submitter_id", "billing_name", "billing_npi", "payer_responsibility",
    "member_id", "subscriber_last", "subscriber_first", "patient_last", "patient_first", "payer_id",
    "payer_name", "filing_indicator",
)  # fmt: skip


def parse_set(tx: x12.TransactionSet, *, receiver_id: str = "") -> list[Claim837]:
    """Every claim (CLM) of one 837P transaction set, each with the billing provider,
    subscriber, patient and payer of the hierarchical levels above it; raises x12.X12Error
    with a location when the set holds no claim or an element cannot be read."""
    head = Claim837(receiver_id=receiver_id)
    claims: list[Claim837] = []
    c: Claim837 | None = None
    in_other_subscriber = False
    line: Line | None = None
    for s in tx.segments:
        sid = s.id
        if sid == "HL":
            c, line = None, None  # a new level: the claims above it are complete
            if s.get(3) == "22":
                head.member_id = head.subscriber_last = head.subscriber_first = ""
                head.patient_last = head.patient_first = ""
            elif s.get(3) == "23":
                head.patient_last = head.patient_first = ""
        elif sid == "CLM":
            c = Claim837(**{name: getattr(head, name) for name in _HEADER_FIELDS})
            claims.append(c)
            in_other_subscriber, line = False, None
            c.pcn = s.get(1)
            c.total_charge = x12.read_amount(s, 2)
            parts = s.components(5)
            c.place_of_service = parts[0] if parts else ""
            c.frequency_code = parts[2] if len(parts) > 2 and parts[2] else "1"
        elif c is None:
            _read_header(head, s)
        else:
            line = _read_claim_segment(c, s, line, in_other_subscriber)
            if sid == "LX":
                in_other_subscriber = False
            elif line is None and sid == "SBR":
                in_other_subscriber = True
    if not claims:
        raise x12.X12Error("the 837 holds no CLM (claim) segment", segment="CLM")
    return claims


def _read_header(c: Claim837, s: x12.Segment) -> None:
    """A segment above the claim level: submitter, billing provider, subscriber, patient, payer."""
    sid, qualifier = s.id, s.get(1)
    if sid == "NM1" and qualifier == "41":
        c.submitter_name, c.submitter_id = s.get(3), s.get(9)
    elif sid == "NM1" and qualifier == "85":
        c.billing_name, c.billing_npi = s.get(3), s.get(9)
    elif sid == "SBR":
        c.payer_responsibility = s.get(1) or "P"
        c.filing_indicator = s.get(9)
    elif sid == "NM1" and qualifier == "IL":
        c.subscriber_last, c.subscriber_first, c.member_id = s.get(3), s.get(4), s.get(9)
    elif sid == "NM1" and qualifier == "QC":
        c.patient_last, c.patient_first = s.get(3), s.get(4)
    elif sid == "NM1" and qualifier == "PR":
        c.payer_name, c.payer_id = s.get(3), s.get(9)


def _read_claim_segment(c: Claim837, s: x12.Segment, line: Line | None, in_other: bool) -> Line | None:
    """A segment of loop 2300 (claim), 2320 (other subscriber) or 2400/2430 (lines); returns
    the line now open."""
    sid = s.id
    if sid == "LX":
        return None
    if line is None and in_other and sid != "SBR":
        if sid == "CAS":
            c.other_adjustments.extend(_cas(s))
        elif sid == "AMT" and s.get(1) == "D":
            c.other_paid = x12.read_amount(s, 2)
    elif line is None and sid == "REF" and s.get(1) == "G1":
        c.prior_auth = s.get(2)
    elif line is None and sid == "REF" and s.get(1) == "F8":
        c.original_reference = s.get(2)
    elif line is None and sid == "HI":
        for i in range(1, 13):
            parts = s.components(i)
            if len(parts) > 1 and parts[1]:
                c.diagnoses.append(parts[1])
    if sid == "SV1":
        line = add_line(c, s, procedure=1, charge=2, units=4)
    elif line is not None and sid == "DTP" and s.get(1) == "472":
        line.date_of_service = _service_date(s)
    elif line is not None and sid == "REF" and s.get(1) == "G1":
        line.prior_auth = s.get(2)
    elif line is not None and sid == "SVD":
        line.other_paid = (line.other_paid or Decimal(0)) + (x12.read_amount(s, 2) or Decimal(0))
    elif line is not None and sid == "CAS":
        line.other_adjustments.extend(_cas(s))
    return line


def add_line(
    c: Claim837,
    s: x12.Segment,
    *,
    procedure: int,
    charge: int,
    units: int,
    revenue_code: str = "",
    unit_basis: str = "",
) -> Line:
    """A service line (837P SV1, 837I SV2) appended to the claim: the HC:code:modifiers
    composite, the charge and units (1 when absent) at the positions the segment has them."""
    proc = s.components(procedure)
    amount = x12.read_amount(s, charge)
    assert amount is not None
    line = Line(
        number=len(c.lines) + 1,
        code=proc[1] if len(proc) > 1 else "",
        modifiers=[m for m in proc[2:6] if m],
        charge=amount,
        units=x12.read_amount(s, units, required=False) or Decimal(1),
        date_of_service=None,
        revenue_code=revenue_code,
        unit_basis=unit_basis,
    )
    c.lines.append(line)
    return line


@dataclass(frozen=True)
class Rejection:
    """A front-end edit that failed, 277CA style: category:status code and a message (no PHI)."""

    code: str
    message: str


def validate(claim: Claim837, *, expected_pcn: str) -> list[Rejection]:
    """The edits a clearinghouse applies before a payer sees the claim."""
    problems: list[Rejection] = []
    if claim.pcn != expected_pcn:
        problems.append(Rejection("A7:21", "CLM01 does not match the submitted patient control number"))
    if not claim.pcn or len(claim.pcn) > 17:
        problems.append(Rejection("A7:21", "CLM01 patient control number missing or longer than 17"))
    if not npi_is_valid(claim.billing_npi):
        problems.append(Rejection("A7:562", "billing provider NPI missing or fails its check digit"))
    if not claim.member_id:
        problems.append(Rejection("A7:164", "subscriber member id missing (NM1*IL NM109)"))
    if not claim.lines:
        problems.append(Rejection("A7:21", "the claim has no service lines (SV1)"))
    for line in claim.lines:
        if not line.code or len(line.code) != 5:
            problems.append(
                Rejection("A7:454", f"line {line.number}: procedure code missing or not 5 characters")
            )
        if line.date_of_service is None:
            problems.append(Rejection("A7:187", f"line {line.number}: date of service (DTP*472) missing"))
        if line.charge <= 0:
            problems.append(Rejection("A7:400", f"line {line.number}: line charge must be positive"))
    total = sum((line.charge for line in claim.lines), Decimal(0))
    if claim.total_charge is None or claim.total_charge != total:
        problems.append(Rejection("A7:400", "CLM02 total charge is not the sum of the line charges"))
    if claim.frequency_code not in ("1", "7", "8"):
        problems.append(Rejection("A7:21", "CLM05-3 frequency code must be 1, 7 or 8"))
    if not claim.diagnoses:
        problems.append(Rejection("A7:255", "no diagnosis code (HI)"))
    return problems
