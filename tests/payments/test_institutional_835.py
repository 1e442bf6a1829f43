"""Issue 20: reading an institutional claim's 835 (005010X221A1) without servers. The 835s here are
hand-written (loop 2100 CLP with CLP08/CLP09/CLP11/CLP12, MIA or MOA; loop 2110 SVC with
`NU:<revenue code>` or `HC:<code>` and SVC04) and validate with pyx12's 835 map; the same texts are
posted on real PostgreSQL and Kafka in test_institutional_posting.py. Which line of our claim each
835 line answers is placed without CPT codes: REF*6R, else revenue code + HCPCS + date."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal as D
from types import SimpleNamespace

from services.payments.claimcopies.domain import ClaimCopy
from services.payments.institutional.domain import BilledLine, PaidLine, place_lines
from services.payments.intake.domain import differences
from services.payments.postings.domain import (
    RemittanceRef,
    Target,
    claim_from_json,
    claim_to_json,
    payment_posted,
    place_lines as place_claim_lines,
)
from services.payments.remittances.x12 import read_835
from services.payments.statements.domain import SHARE_LABELS, visit
from shared.events.catalogue import PaymentPosted
from tests.conftest import pyx12_errors
from tests.payments.helpers import make_835_file

# Loop 2100 of an inpatient stay (type of bill 0111: CLP08 11, CLP09 1), priced by MS-DRG 470 (CLP11)
# with weight 1.9009 (CLP12); MIA: 3 covered days (MIA01), DRG amount 7600 (MIA04), remark MA01
# (MIA05), disproportionate share 120 (MIA06), PPS capital 400 (MIA08), remark MA07 (MIA20).
# Loop 2110: lab HC:80053 under revenue code 0300 (SVC04) dated 2026-01-06 without REF*6R, then
# room and board NU:0120 (no HCPCS), 3 days, echoing our line item control number 1 (REF*6R).
INPATIENT = """\
CLP*{pcn}*1*12000*8000*1700*12*{pccn}*11*1**470*1.9009
NM1*QC*1*DOE*JANE****MI*SBX10001
MIA*3***7600*MA01*120**400************MA07
DTM*232*20260105
DTM*233*20260108
SVC*HC:80053*3000*2000*0300*1
DTM*472*20260106
CAS*CO*45*800
CAS*PR*2*200
SVC*NU:0120*9000*6000**3
CAS*CO*45*1500
CAS*PR*1*1000**2*500
REF*6R*1
"""

# The payer takes the inpatient payment back (CLP02 22: every amount of the claim negated, MIA's too).
REVERSAL = """\
CLP*{pcn}*22*-12000*-8000*-1700*12*{pccn}*11*1**470*1.9009
NM1*QC*1*DOE*JANE****MI*SBX10001
MIA*-3***-7600*MA01*-120**-400************MA07
SVC*HC:80053*-3000*-2000*0300*1
DTM*472*20260106
CAS*CO*45*-800
CAS*PR*2*-200
SVC*NU:0120*-9000*-6000**3
CAS*CO*45*-1500
CAS*PR*1*-1000**2*-500
REF*6R*1
"""

# Loop 2100 of an emergency visit billed as hospital outpatient (CLP08 13, CLP09 1); MOA: 80 %
# reimbursement rate (MOA01), HCPCS payable 450 (MOA02), remarks MA01 and MA02 (MOA03-04).
# Loop 2110: HC:99284 under revenue code 0450 (SVC04), copay PR-3.
OUTPATIENT = """\
CLP*{pcn}*1*800*500*100*12*{pccn}*13*1
NM1*QC*1*DOE*JOHN****MI*SBX10002
MOA*80*450*MA01*MA02
DTM*232*20260110
DTM*233*20260110
SVC*HC:99284*800*500*0450*1
DTM*472*20260110
CAS*CO*45*200
CAS*PR*3*100
REF*6R*1
"""


# A professional visit in the same 835 shape, for the report split (CLP08 = place of service 11).
PROFESSIONAL = """\
CLP*{pcn}*1*150*100*30*12*{pccn}*11*1
NM1*QC*1*DOE*PAT****MI*SBX10003
SVC*HC:99213*150*100**1
DTM*472*20260105
CAS*CO*45*20
CAS*PR*3*30
"""


def make_claim(template: str, pcn: str, pccn: str = "PCCN1") -> list[list[str]]:
    """A hand-written loop 2100/2110 as segments (the 835 builder adds the envelope, BPR, TRN,
    N1 loops and LX)."""
    return [line.split("*") for line in template.format(pcn=pcn, pccn=pccn).splitlines()]


# The 835's header (Table 1) as the guide wants it for pyx12: BPR with its banking details, TRN
# (TRN03 the payer's company id), DTM*405, loop 1000A N1*PR with N3/N4, REF*2U and PER*BL, loop
# 1000B N1*PE with its NPI, then LX (loop 2000).
HEADER = """\
BPR*I*{amount}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20260110
TRN*1*{trace}*1512345678
DTM*405*20260110
N1*PR*SANDBOX HEALTH PLAN
N3*1 PAYER WAY
N4*SPRINGFIELD*IL*62701
REF*2U*SBX001
PER*BL*CLAIMS*TE*8005551212
N1*PE*GENERAL HOSPITAL*XX*1234567893
LX*1
"""


def make_institutional_835(trace: str, *claims: list[list[str]]) -> str:
    """One 835 set: the header, then the claims; BPR02 is the sum of CLP04 (no PLB)."""
    amount = sum(D(c[0][4]) for c in claims)
    header = [line.split("*") for line in HEADER.format(amount=amount, trace=trace).splitlines()]
    body = header + [segment for claim in claims for segment in claim]
    return make_835_file([body])


def read_claims(text: str):
    (one,) = read_835(text).sets
    assert one.errors == [], [e.as_json() for e in one.errors]
    return one.remittance.claims


def test_hand_written_835s_validate_with_pyx12():
    """Every 835 the institutional tests post (alone, together, with a professional claim as the
    report test posts them) is valid 005010X221A1 for pyx12 (0 errors)."""
    inpatient = make_institutional_835("TRN-I", make_claim(INPATIENT, "INP1"))
    outpatient = make_institutional_835("TRN-O", make_claim(OUTPATIENT, "OUT1"))
    both = make_institutional_835("TRN-B", make_claim(INPATIENT, "INP2"), make_claim(OUTPATIENT, "OUT2"))
    claims = [make_claim(INPATIENT, "INP3"), make_claim(OUTPATIENT, "OUT3", "PCCN2")]
    mixed = make_institutional_835("TRN-M", *claims, make_claim(PROFESSIONAL, "PRO3", "PCCN3"))
    # A reversal and the corrected payment in one file (BPR02 = -8000 + 8000 = 0).
    taken_back = make_institutional_835(
        "TRN-R", make_claim(REVERSAL, "INP4"), make_claim(INPATIENT, "INP4", "PCCN9")
    )
    for text in (inpatient, outpatient, both, mixed, taken_back):
        assert pyx12_errors(text) == []


def test_inpatient_claim_keeps_clp08_to_12_and_every_mia_element():
    (claim,) = read_claims(make_institutional_835("TRN-I", make_claim(INPATIENT, "INP1")))
    assert (claim.facility_type_code, claim.frequency_code) == ("11", "1")  # CLP08, CLP09
    assert (claim.drg_code, claim.drg_weight) == ("470", D("1.9009"))  # CLP11, CLP12
    mia = claim.inpatient
    assert mia is not None and claim.outpatient is None
    assert (mia.covered_days, mia.drg_amount, mia.capital_amount) == (D(3), D("7600.00"), D("400.00"))
    assert mia.remark_codes == ["MA01", "MA07"]  # MIA05, MIA20
    assert mia.other == {"MIA06": D("120.00")}
    assert claim.remark_codes == ["MA01", "MA07"]
    # Loop 2110: NU carries the revenue code in SVC01-2, HC in SVC04.
    assert [(x.qualifier, x.code, x.revenue_code) for x in claim.lines] == [
        ("HC", "80053", "0300"),
        ("NU", "0120", "0120"),
    ]
    assert claim_from_json(claim_to_json(claim)) == claim  # a parked claim keeps all of it


def test_outpatient_claim_keeps_moa():
    (claim,) = read_claims(make_institutional_835("TRN-O", make_claim(OUTPATIENT, "OUT1")))
    moa = claim.outpatient
    assert moa is not None and claim.inpatient is None
    assert (moa.reimbursement_rate, moa.hcpcs_payable_amount, moa.remark_codes) == (
        D(80),
        D("450.00"),
        ["MA01", "MA02"],
    )
    assert (claim.facility_type_code, claim.drg_code, claim.drg_weight) == ("13", "", None)


def test_a_mia_amount_that_is_not_a_number_is_an_error_of_its_set():
    """MIA04 is an amount (R): 'ABC' is located as a 999 would (segment, element, rule)."""
    text = make_institutional_835("TRN-X", make_claim(INPATIENT.replace("*7600*", "*ABC*"), "INP9"))
    (one,) = read_835(text).sets
    assert [(e.segment, e.element, e.rule) for e in one.errors] == [("MIA", 4, "number")]


def test_payment_posted_carries_mia_drg_and_lines_with_revenue_codes():
    (claim,) = read_claims(make_institutional_835("TRN-I", make_claim(INPATIENT, "INP1")))
    copy = ClaimCopy(
        uuid.uuid4(), "INP1", "acct-1", "SBX001", "primary", D("12000.00"), date(2026, 1, 5),
        "institutional",
        [
            {"line_number": 1, "code": None, "revenue_code": "0120", "charge": "9000.00",
             "date_of_service": "2026-01-05"},
            {"line_number": 2, "code": "80053", "revenue_code": "0300", "charge": "3000.00",
             "date_of_service": "2026-01-06"},
        ],
    )  # fmt: skip
    place_claim_lines(claim, copy)
    ref = RemittanceRef(uuid.uuid4(), "SBX001", "TRN-I", "ach", date(2026, 1, 10))
    target = Target(copy.claim_id, copy.account_id, claim_type=copy.claim_type)
    event = payment_posted(uuid.uuid4(), ref, claim, target, datetime(2026, 1, 10, tzinfo=UTC))
    posted = PaymentPosted.model_validate(event.data.model_dump(mode="json"))
    assert (posted.claim_type, posted.drg_code, posted.drg_weight) == ("institutional", "470", D("1.9009"))
    assert posted.inpatient is not None and posted.outpatient is None
    assert posted.inpatient.model_dump() == {
        "covered_days": D(3),
        "drg_amount": D("7600.00"),
        "capital_amount": D("400.00"),
        "remark_codes": ["MA01", "MA07"],
    }
    # The 835's first line (HC:80053, no REF*6R) answers our line 2, the NU line (REF*6R 1) line 1.
    assert [(x.procedure_qualifier, x.code, x.revenue_code, x.line_number) for x in posted.lines] == [
        ("HC", "80053", "0300", 2),
        ("NU", "0120", "0120", 1),
    ]


def paid(qualifier: str, code: str, rev: str | None, charge: str, day: date | None, ref: str | None = None):
    return PaidLine(ref, qualifier, code, rev, D(charge), day)


def billed(n: int, code: str | None, rev: str | None, charge: str, day: date):
    return BilledLine(n, code, rev, D(charge), day)


def test_lines_without_cpt_are_placed_by_revenue_code_hcpcs_and_date():
    jan5, jan6 = date(2026, 1, 5), date(2026, 1, 6)
    ours = [
        billed(1, None, "0120", "900.00", jan5),  # room and board: no HCPCS
        billed(2, "80053", "0300", "30.00", jan5),
        billed(3, "80053", "0300", "30.00", jan6),  # the same test the next day
        billed(4, None, "0250", "12.00", jan5),  # pharmacy
    ]
    answers = [
        paid("HC", "80053", "0300", "30.00", jan6),  # date decides: line 3, not 2
        paid("NU", "0250", None, "12.00", None),  # NU: the revenue code is SVC01-2
        paid("HC", "80053", "0300", "30.00", None, ref="2"),  # REF*6R echoed
        paid("NU", "0120", None, "900.00", jan5),
        paid("NU", "0999", None, "5.00", jan5),  # nothing of ours: unplaced
    ]
    assert place_lines(answers, ours) == [3, 4, 2, 1, None]


def test_professional_lines_are_placed_by_hcpcs_as_before():
    day = date(2026, 1, 5)
    ours = [billed(1, "99213", None, "150.00", day), billed(2, "36415", None, "20.00", day)]
    assert place_lines(
        [paid("HC", "36415", None, "20.00", day), paid("HC", "99213", None, "150.00", day)], ours
    ) == [
        2,
        1,
    ]


def test_a_statement_lists_a_hospital_line_without_procedure_code_by_its_revenue_code():
    """A patient's statement of an institutional claim: room and board has no CPT code (837I line
    by revenue code alone), the lab test has one."""
    sums = {
        k: D("0")
        for k in ("charges", "insurance_paid", "adjustments", "patient_paid", "insurance_pending", "due")
    }
    row = SimpleNamespace(item_id=uuid.uuid4(), service_date=date(2026, 1, 5), description=None, **sums)
    for key, _, _ in SHARE_LABELS:
        setattr(row, key, D("0"))
    lines = [
        {"line_number": 1, "code": None, "revenue_code": "0120", "charge": "9000.00"},
        {"line_number": 2, "code": "80053", "revenue_code": "0300", "charge": "3000.00"},
    ]
    shown = visit(row, SimpleNamespace(lines=lines, payer_name="SANDBOX HEALTH PLAN"))
    assert shown.procedures[0] == {
        "code": "0120",
        "description": "Hospital services (revenue code 0120)",
        "charge": "9000.00",
    }
    assert shown.procedures[1]["code"] == "80053" and shown.procedures[1]["description"].endswith("(80053)")


def test_a_same_trace_835_with_another_drg_or_mia_is_a_conflict_naming_them():
    """The conflict review names what differs by element, never by value: CLP11 and MIA here."""
    (posted,) = read_835(make_institutional_835("TRN-C", make_claim(INPATIENT, "INP5"))).sets
    other = INPATIENT.replace("**470*", "**471*").replace("*7600*", "*7500*")
    (again,) = read_835(make_institutional_835("TRN-C", make_claim(other, "INP5"))).sets
    found = differences(posted.remittance, again.remittance)
    assert [(d.element, d.what) for d in found] == [
        ("CLP11", "the DRG of claim 1 differs"),
        ("MIA", "the inpatient adjudication of claim 1 differs"),
    ]
