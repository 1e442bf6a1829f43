"""Reading an X12 005010X223A2 837I (institutional, the electronic UB-04) the way a
clearinghouse front end does, into the same Claim837 as an 837P plus its Institutional837.

One file may hold an 837P group and an 837I group: GS08 (or ST03) tells which guide a set
follows (`is_institutional`). The hierarchy above the claim (submitter, billing provider,
subscriber, patient, payer) is the 837P's and is read by claim837's header reader; loop 2300
adds CLM05 (facility type code : qualifier : frequency), DTP*434 statement period, DTP*435
admission, DTP*096 discharge hour, CL1 (admission type, source, patient status), HI by
qualifier (ABK/BK principal, ABJ admitting, ABF other, BBR/BBQ procedures, DR the DRG, BE value
codes), PRV*BI (billing taxonomy); loop 2320 the prior payer's CAS, AMT*D, MIA and MOA; loop
2400 SV2 (revenue code, HC:code:modifiers, charge, unit basis, units) with DTP*472 and, in
2430, the prior payer's SVD/CAS. `validate` lists the front-end edits of an institutional claim.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from deploy.payer_sandbox.claim837 import (
    _HEADER_FIELDS,
    Claim837,
    Institutional837,
    Line,
    Rejection,
    _cas,
    _read_header,
    _service_date,
    add_line,
)
from shared import x12
from shared.identifiers import npi_is_valid

VERSION = "005010X223A2"
# Frequency codes an 837I may carry (CLM05-3): admit through discharge, interim first/
# continuing/last, replacement, void.
FREQUENCIES = frozenset("123478")
PRINCIPAL = ("ABK", "BK")  # BK: the 4010 qualifier some senders still use (read, as partners do)
PROCEDURES = ("BBR", "BBQ", "BR", "BQ")


def is_institutional(tx: x12.TransactionSet) -> bool:
    """Whether a set follows the 837I guide: ST03, else its group's GS08, names X223."""
    version = tx.st.get(3) or (tx.group.version if tx.group else "")
    return "X223" in version


def _d8(seg: x12.Segment, range_end: bool = False) -> date | None:
    """DTP03 as D8, DT (CCYYMMDDHHMM) or RD8 (first day, or the last with `range_end`)."""
    value = seg.get(3)
    if seg.get(2) == "RD8" and "-" in value:
        value = value.split("-")[1 if range_end else 0]
    try:
        return datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        raise seg.error("not a CCYYMMDD date", 3) from None


def parse_set(tx: x12.TransactionSet, *, receiver_id: str = "") -> list[Claim837]:
    """Every claim (CLM) of one 837I set, with the levels above it; raises x12.X12Error with a
    location when the set holds no claim or an element cannot be read."""
    head = Claim837(receiver_id=receiver_id)
    claims: list[Claim837] = []
    c: Claim837 | None = None
    line: Line | None = None
    in_other = False
    for s in tx.segments:
        if s.id == "HL":
            c, line = None, None
            if s.get(3) == "22":
                head.member_id = head.subscriber_last = head.subscriber_first = ""
                head.patient_last = head.patient_first = ""
            elif s.get(3) == "23":
                head.patient_last = head.patient_first = ""
        elif s.id == "CLM":
            c = Claim837(**{name: getattr(head, name) for name in _HEADER_FIELDS})
            c.institutional = Institutional837(
                taxonomy=head.institutional.taxonomy if head.institutional else ""
            )
            claims.append(c)
            in_other, line = False, None
            _read_clm(c, s)
        elif c is None:
            if s.id == "PRV" and s.get(1) == "BI":
                head.institutional = Institutional837(taxonomy=s.get(3))
            _read_header(head, s)
        else:
            line, in_other = _read_claim_segment(c, s, line, in_other)
    if not claims:
        raise x12.X12Error("the 837 holds no CLM (claim) segment", segment="CLM")
    return claims


def _read_clm(c: Claim837, s: x12.Segment) -> None:
    assert c.institutional is not None
    c.pcn = s.get(1)
    c.total_charge = x12.read_amount(s, 2)
    parts = s.components(5)
    c.institutional.facility_type = parts[0] if parts else ""
    c.place_of_service = c.institutional.facility_type  # CLP08 of the 835: the facility type code
    c.frequency_code = parts[2] if len(parts) > 2 and parts[2] else "1"


def _read_claim_segment(
    c: Claim837, s: x12.Segment, line: Line | None, in_other: bool
) -> tuple[Line | None, bool]:
    """A segment of loop 2300, 2320/2330 (other subscriber) or 2400/2430; returns the open line
    and whether an other-subscriber loop is open."""
    inst = c.institutional
    assert inst is not None
    sid, q = s.id, s.get(1)
    if sid == "LX":
        return None, False
    if sid == "SBR" and line is None:
        return None, True
    if line is None and in_other:
        if sid == "CAS":
            c.other_adjustments.extend(_cas(s))
        elif sid == "AMT" and q == "D":
            c.other_paid = x12.read_amount(s, 2)
        elif sid == "MIA":
            inst.other_mia = list(s.elements)
        elif sid == "MOA":
            inst.other_moa = list(s.elements)
        return None, True
    if sid == "SV2":
        return _sv2(c, s), False
    if line is None:
        _read_claim_level(c, inst, s)
        return None, False
    if sid == "DTP" and q == "472":
        line.date_of_service = _service_date(s)
    elif sid == "SVD":
        line.other_paid = (line.other_paid or Decimal(0)) + (x12.read_amount(s, 2) or Decimal(0))
    elif sid == "CAS":
        line.other_adjustments.extend(_cas(s))
    return line, False


def _read_claim_level(c: Claim837, inst: Institutional837, s: x12.Segment) -> None:
    sid, q = s.id, s.get(1)
    if sid == "DTP" and q == "434":
        inst.statement_from, inst.statement_to = _d8(s), _d8(s, range_end=True)
    elif sid == "DTP" and q == "435":
        inst.admission_date = _d8(s)
        inst.admission_hour = s.get(3)[8:12] if s.get(2) == "DT" else ""
    elif sid == "DTP" and q == "096":
        inst.discharge_hour = s.get(3)
    elif sid == "CL1":
        inst.admission_type, inst.admission_source, inst.patient_status = s.get(1), s.get(2), s.get(3)
    elif sid == "REF" and q == "F8":
        c.original_reference = s.get(2)
    elif sid == "REF" and q == "G1":
        c.prior_auth = s.get(2)
    elif sid == "HI":
        _read_hi(c, inst, s)


def _read_hi(c: Claim837, inst: Institutional837, s: x12.Segment) -> None:
    """One HI segment: up to twelve qualifier:code[:date-format:date:amount:...:POA] composites."""
    for i in range(1, 13):
        parts = s.components(i)
        if len(parts) < 2 or not parts[1]:
            continue
        qualifier, code = parts[0], parts[1]
        if qualifier in PRINCIPAL:
            inst.principal_diagnosis = code
            c.diagnoses.insert(0, code)
        elif qualifier in ("ABF", "BF", "ABN", "BN"):
            c.diagnoses.append(code)
        elif qualifier in ("ABJ", "BJ"):
            inst.admitting_diagnosis = code
        elif qualifier == "DR":
            inst.drg_code = code
        elif qualifier in PROCEDURES:
            inst.procedures.append(code)
        elif qualifier == "BE" and len(parts) > 4 and parts[4]:
            try:
                inst.value_codes[code] = Decimal(parts[4])
            except InvalidOperation:
                raise s.error("value code amount is not a number", i) from None


def _sv2(c: Claim837, s: x12.Segment) -> Line:
    """SV2: SV201 revenue code, SV202 HC:code:modifiers (required by some revenue codes),
    SV203 charge, SV204 unit basis (UN, DA), SV205 units."""
    return add_line(c, s, procedure=2, charge=3, units=5, revenue_code=s.get(1), unit_basis=s.get(4))


def validate(claim: Claim837, *, expected_pcn: str) -> list[Rejection]:
    """The front-end edits of an institutional claim (277CA codes, no PHI in the messages)."""
    inst = claim.institutional
    assert inst is not None
    problems: list[Rejection] = []
    if claim.pcn != expected_pcn or not claim.pcn or len(claim.pcn) > 20:
        problems.append(Rejection("A7:21", "CLM01 patient control number missing or longer than 20"))
    if not npi_is_valid(claim.billing_npi):
        problems.append(Rejection("A7:562", "billing provider NPI missing or fails its check digit"))
    if not claim.member_id:
        problems.append(Rejection("A7:164", "subscriber member id missing (NM1*IL NM109)"))
    if len(inst.facility_type) != 2 or not inst.facility_type.isdigit():
        problems.append(Rejection("A7:21", "CLM05-1 facility type code must be two digits"))
    if claim.frequency_code not in FREQUENCIES:
        problems.append(Rejection("A7:21", "CLM05-3 frequency code must be 1, 2, 3, 4, 7 or 8"))
    if inst.statement_from is None or inst.statement_to is None or inst.statement_to < inst.statement_from:
        problems.append(Rejection("A7:187", "DTP*434 statement period missing or ends before it starts"))
    if inst.inpatient and inst.admission_date is None:
        problems.append(Rejection("A7:187", "inpatient claim without its admission date (DTP*435)"))
    if not inst.principal_diagnosis:
        problems.append(Rejection("A7:255", "no principal diagnosis (HI*ABK)"))
    if not claim.lines:
        problems.append(Rejection("A7:21", "the claim has no service lines (SV2)"))
    for line in claim.lines:
        if len(line.revenue_code) != 4 or not line.revenue_code.isdigit():
            problems.append(Rejection("A7:21", f"line {line.number}: SV201 revenue code must be 4 digits"))
        if line.charge < 0:
            problems.append(Rejection("A7:400", f"line {line.number}: line charge must not be negative"))
        one_day = inst.statement_from is not None and inst.statement_from == inst.statement_to
        if not inst.inpatient and line.date_of_service is None and not one_day:
            # An outpatient line needs its date unless the statement period is that one day.
            problems.append(Rejection("A7:187", f"line {line.number}: outpatient line without DTP*472"))
    total = sum((line.charge for line in claim.lines), Decimal(0))
    if claim.total_charge is None or claim.total_charge != total:
        problems.append(Rejection("A7:400", "CLM02 total charge is not the sum of the line charges"))
    return problems
