"""Payer sandbox, institutional claims: 837I (005010X223A2) files built by hand as a hospital's
billing system writes them, uploaded over real SFTP into the sandbox's mailbox, answered with
a 999, a 277CA and an 835 that validates with pyx12's 835 map (X221A1) and x12sdk and balances.

Expected figures come from the data files the sandbox answers from (data/institutional.json:
DRG weights from CMS FY 2026 Table 5 and the payer's base rate; scenarios.json: the member's
hospital benefits), never from the sandbox's code. Loop/segment references are the 835 TR3's
(005010X221A1): 2100 CLP/CAS/MIA/MOA/DTM, 2110 SVC/CAS/LQ.
"""

from __future__ import annotations

import json
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from deploy.payer_sandbox.data import SCENARIOS_FILE
from deploy.payer_sandbox.rates import RATES_FILE
from deploy.payer_sandbox.remit835 import check_balanced
from deploy.payer_sandbox.testing import running_sandbox
from shared import x12
from tests.conftest import pyx12_errors
from tests.sandbox.helpers import VERSION_837I, Rev, days_ago, make_837i, make_interchange
from tests.sandbox.test_claims import read_835
from tests.sandbox.test_files import Answers, claims_of_277ca, segments, set_acks, upload

RATES = json.loads(RATES_FILE.read_text())
MEMBERS = json.loads(SCENARIOS_FILE.read_text())["members"]
SBX001 = RATES["payers"]["SBX001"]
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def drg_amount_paid(text: str) -> Decimal:
    """The sum of CLP04 (what BPR02 must equal without PLB)."""
    return sum((Decimal(s.get(4)) for s in segments(text) if s.id == "CLP"), Decimal(0))


def claims_of_835(text: str) -> dict[str, dict[str, Any]]:
    """Loop 2100 per CLP01: the CLP elements, claim-level CAS (group, reason, amount), MIA, MOA,
    DTM, and the 2110 loops (SVC elements, their CAS and LQ)."""
    out: dict[str, dict[str, Any]] = {}
    claim: dict[str, Any] | None = None
    line: dict[str, Any] | None = None
    for s in segments(text):
        if s.id == "CLP":
            claim, line = {"clp": s.elements, "cas": [], "svc": [], "dtm": {}}, None
            out[s.get(1)] = claim
        elif claim is None:
            continue
        elif s.id == "SVC":
            line = {"svc": s.elements, "cas": [], "lq": []}
            claim["svc"].append(line)
        elif s.id == "CAS":
            pairs = [(s.get(1), s.get(i), Decimal(s.get(i + 1))) for i in range(2, 20, 3) if s.get(i)]
            (line or claim)["cas"].extend(pairs)
        elif s.id in ("MIA", "MOA"):
            claim[s.id.lower()] = s.elements
        elif s.id == "DTM" and line is None:
            claim["dtm"][s.get(1)] = s.get(2)
        elif s.id == "LQ" and line is not None:
            line["lq"].append(s.get(2))
    return out


@pytest.fixture
def prefix() -> str:
    return "I" + uuid.uuid4().hex[:8].upper()


async def answered(files: list[tuple[str, str]], done: Any, **options: Any) -> Answers:
    async with running_sandbox(mailbox=True, **options) as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        await upload(sandbox, files)
        await answers.wait(done)
    return answers


async def test_an_inpatient_837i_is_paid_by_its_drg_with_mia(prefix: str) -> None:
    """Inpatient (type of bill 111), DRG 291 on the claim: allowed = base rate x FY 2026 weight to
    the cent; the member's inpatient share (service type 48): the deductible per admission, then
    coinsurance; CAS, MIA and CLP11/12 at claim level and no 2110 loop. A claim without HI*DR is
    denied CO-16 with N208 in MIA05."""
    paid, no_drg = f"{prefix}D", f"{prefix}N"
    stay = [
        Rev("0120", "9200.00", "4", basis="DA"),
        Rev("0250", "800.00", "10"),
        Rev("0300", "1200.00", "1", "80053"),
    ]
    text = make_interchange(
        [
            (
                VERSION_837I,
                [
                    make_837i(paid, stay),
                    make_837i(
                        no_drg, stay, drg=None, statement=(days_ago(20), days_ago(17)), admission=days_ago(20)
                    ),
                ],
            )
        ],
        8101,
    )
    assert pyx12_errors(text) == [], "the hand-built 837I validates with pyx12's X223A1 map"
    answers = await answered(
        [("inpatient.x12", text)], lambda a: bool(a.kind("835")) and bool(a.kind("277CA"))
    )

    (ack,) = answers.kind("999")
    assert pyx12_errors(ack) == []
    ak1 = next(s for s in segments(ack) if s.id == "AK1")
    assert ak1.elements == ("HC", "1", VERSION_837I), "999 AK1: GS01, GS06, GS08 of the 837I group"
    for set_ack in set_acks(ack).values():
        assert set_ack[0].elements == ("837", set_ack[0].get(2), VERSION_837I), "AK2: ST01, ST02, ST03"
        assert set_ack[-1].elements == ("A",)
    (ca,) = answers.kind("277CA")
    assert pyx12_errors(ca) == []
    assert {pcn: c["stc"] for pcn, c in claims_of_277ca(ca).items()} == {paid: "A2:20", no_drg: "A2:20"}

    (remit,) = answers.kind("835")
    # pyx12 (X221A1) 0 errors and the balancing identities; not x12sdk here: its MIA model
    # allows MIA01 (covered days or visits count) to be "0" only, from the one example it was
    # built from, while the TR3 makes it the covered days count.
    assert pyx12_errors(remit) == []
    assert check_balanced(remit)["bpr"] == drg_amount_paid(remit)
    claims = claims_of_835(remit)
    weight = Decimal(RATES["drg_weights"]["weights"]["291"]["weight"])
    drg_amount = cents(Decimal(SBX001["inpatient"]["drg_base_rate"]) * weight)
    share = MEMBERS["SBX10001"]["benefits"]["in_network"]["hospital"]["48"]
    deductible = Decimal(share["deductible_per_admission"])
    coinsurance = cents((drg_amount - deductible) * Decimal(share["coinsurance_percent"]) / 100)
    charge = Decimal("11200.00")

    clp = claims[paid]["clp"]
    assert clp[1] == "1" and Decimal(clp[2]) == charge, "CLP02 processed as primary, CLP03 charge"
    assert clp[7:9] == ("11", "1"), "CLP08 facility type code, CLP09 frequency (type of bill 111)"
    assert clp[10] == "291" and Decimal(clp[11]) == weight, "CLP11 DRG, CLP12 its FY 2026 weight"
    assert claims[paid]["cas"] == [
        ("CO", "45", charge - drg_amount),
        ("PR", "1", deductible),
        ("PR", "2", coinsurance),
    ], "2100 CAS: contractual, deductible per admission, coinsurance"
    assert Decimal(clp[3]) == drg_amount - deductible - coinsurance, "CLP04 = DRG amount - patient share"
    assert Decimal(clp[4]) == deductible + coinsurance, "CLP05 patient responsibility"
    mia = claims[paid]["mia"]
    assert mia[0] == "4" and Decimal(mia[3]) == drg_amount, "MIA01 covered days, MIA04 DRG amount"
    assert claims[paid]["svc"] == [], "no 2110 loop: no line adjudicated on its own"
    assert claims[paid]["dtm"] == {"232": x12.d8(days_ago(10)), "233": x12.d8(days_ago(6))}

    denied = claims[no_drg]
    assert denied["clp"][1] == "4" and Decimal(denied["clp"][3]) == 0, "CLP02 4 denied"
    assert denied["cas"] == [("CO", "16", charge)], "CARC 16: lacks information"
    assert denied["mia"] == ("0", "", "", "", "N208"), "MIA05 RARC N208: missing/invalid DRG"


async def test_outpatient_by_fee_schedule_with_moa_and_the_er_copay(prefix: str) -> None:
    """Outpatient (131): each line by its HCPCS in the fee schedule, else by its revenue code
    (percent of charge); SVC01 HC:<code> with SVC04 the revenue code, or NU:<revenue code>; MOA02
    the HCPCS payable amount; coinsurance per line (service type 50: the member's deductible is
    met). Emergency (a 0450 line): the ER copay once (PR-3), packaged supplies CO-97 with M15."""
    visit, er = f"{prefix}O", f"{prefix}E"
    day = days_ago(5)
    outpatient = [Rev("0300", "150.00", "1", "80053", day=day), Rev("0320", "400.00", "1", "71046", day=day),
                  Rev("0250", "90.00", "2", day=day)]  # fmt: skip
    emergency = [Rev("0450", "1400.00", "1", "99284", day=day), Rev("0270", "60.00", "1", day=day),
                 Rev("0300", "150.00", "1", "80053", day=day)]  # fmt: skip
    common = {"bill": "131", "admission": None, "drg": None, "statement": (day, day)}
    text = make_interchange(
        [
            (
                VERSION_837I,
                [
                    make_837i(visit, outpatient, member_id="SBX10002", **common),
                    make_837i(er, emergency, **common),
                ],
            )
        ],
        8201,
    )
    assert pyx12_errors(text) == []
    answers = await answered([("outpatient.x12", text)], lambda a: bool(a.kind("835")))
    (remit,) = answers.kind("835")
    read_835(remit)
    claims = claims_of_835(remit)
    fees = SBX001["outpatient"]["fee_schedule"]
    pharmacy = Decimal(SBX001["outpatient"]["revenue_codes"]["0250"]["percent_of_charge"])
    coins = Decimal(MEMBERS["SBX10002"]["benefits"]["in_network"]["coinsurance_percent"])

    o = claims[visit]
    assert o["clp"][7:9] == ("13", "1"), "CLP08 13 hospital outpatient, CLP09 1"
    assert len(o["clp"]) <= 10, "no CLP11/CLP12 on an outpatient claim"
    allowed = [Decimal(fees["80053"]), Decimal(fees["71046"]), cents(Decimal("90.00") * pharmacy / 100)]
    assert [line["svc"][0] for line in o["svc"]] == ["HC:80053", "HC:71046", "NU:0250"], "SVC01"
    assert [line["svc"][3] if len(line["svc"]) > 3 else "" for line in o["svc"]] == ["0300", "0320", ""], (
        "SVC04: the revenue code beside HC"
    )
    assert o["svc"][2]["svc"][4] == "2", "SVC05 units"
    for line, amount in zip(o["svc"], allowed, strict=True):
        charge = Decimal(line["svc"][1])
        pr = cents(amount * coins / 100)
        assert line["cas"] == [("CO", "45", charge - amount), ("PR", "2", pr)], "2110 CAS"
        assert Decimal(line["svc"][2]) == amount - pr
    assert o["moa"] == ("", str(Decimal(fees["80053"]) + Decimal(fees["71046"]))), "MOA02 HCPCS payable"
    assert "mia" not in o

    e = claims[er]
    copay = Decimal(MEMBERS["SBX10001"]["benefits"]["in_network"]["copays"]["86"])
    er_fee = Decimal(fees["99284"])
    assert e["svc"][0]["cas"] == [("CO", "45", Decimal("1400.00") - er_fee), ("PR", "3", copay)]
    assert e["svc"][1]["svc"][0] == "NU:0270" and e["svc"][1]["cas"] == [("CO", "97", Decimal("60.00"))]
    assert e["svc"][1]["lq"] == ["M15"], "2110 LQ*HE: packaged"
    assert e["svc"][2]["cas"] == [("CO", "45", Decimal("150.00") - Decimal(fees["80053"]))], "copay only"
    assert Decimal(e["clp"][4]) == copay, "CLP05: the ER copay is the whole patient share"


async def test_a_secondary_inpatient_claim_pays_what_the_primary_left(prefix: str) -> None:
    """SBX002 as secondary (SBR01 S) with the primary's adjudication in loop 2320 (CAS, AMT*D,
    MIA): it pays the primary's deductible, then coinsurance, up to its own DRG amount minus the
    primary's payment; what it does not cover stays PR-2; the primary's share is OA-23."""
    pcn = f"{prefix}S"
    charge = Decimal("11200.00")
    weight = Decimal(RATES["drg_weights"]["weights"]["291"]["weight"])
    primary_allowed = cents(Decimal(SBX001["inpatient"]["drg_base_rate"]) * weight)
    deductible, coinsurance = Decimal("500.00"), cents((primary_allowed - Decimal("500.00")) / 5)
    primary_paid = primary_allowed - deductible - coinsurance
    prior = (
        str(primary_paid),
        [
            ("CO", "45", str(charge - primary_allowed)),
            ("PR", "1", str(deductible)),
            ("PR", "2", str(coinsurance)),
        ],
    )
    stay = [
        Rev("0120", "9200.00", "4", basis="DA"),
        Rev("0250", "800.00", "10"),
        Rev("0300", "1200.00", "1", "80053"),
    ]
    claim = make_837i(
        pcn, stay, member_id="SBX40002S", payer_id="SBX002", responsibility="S", prior=prior,
        prior_mia=("4", "", "", str(primary_allowed)),
    )  # fmt: skip
    text = make_interchange([(VERSION_837I, [claim])], 8301)
    assert pyx12_errors(text) == [], "2320 CAS/AMT*D/OI/MIA and 2330A/B as the X223A1 map wants them"
    answers = await answered([("secondary.x12", text)], lambda a: bool(a.kind("835")))
    (remit,) = answers.kind("835")
    assert pyx12_errors(remit) == []
    check_balanced(remit)
    c = claims_of_835(remit)[pcn]
    own = cents(Decimal(RATES["payers"]["SBX002"]["inpatient"]["drg_base_rate"]) * weight)
    paid = min(deductible + coinsurance, own - primary_paid)
    left = deductible + coinsurance - paid
    assert c["clp"][1] == "2", "CLP02 2: processed as secondary"
    assert Decimal(c["clp"][3]) == paid
    assert c["cas"] == [("OA", "23", charge - paid - left), ("PR", "2", left)], "2100 CAS"
    assert c["clp"][10] == "291" and c["mia"][3] == str(own), "its own DRG amount in MIA04"


async def test_snf_and_psychiatric_stays_are_paid_per_diem(prefix: str) -> None:
    """The payer's per diem rules: a skilled nursing facility (type of bill 211) and a psychiatric
    hospital (PRV*BI taxonomy 283Q00000X) are paid covered days x rate, whatever the DRG;
    MIA01 the covered days, no CLP11/CLP12 (the DRG did not price it)."""
    snf, psych = f"{prefix}F", f"{prefix}Y"
    nursing = make_837i(
        snf, [Rev("0191", "9000.00", "6", basis="DA")], bill="211", drg=None,
        statement=(days_ago(30), days_ago(24)), admission=days_ago(30),
    )  # fmt: skip
    psychiatric = make_837i(
        psych, [Rev("0114", "14000.00", "6", basis="DA")], drg="885", taxonomy="283Q00000X",
        statement=(days_ago(40), days_ago(34)), admission=days_ago(40),
    )  # fmt: skip
    text = make_interchange([(VERSION_837I, [nursing, psychiatric])], 8401)
    assert pyx12_errors(text) == []
    answers = await answered([("per-diem.x12", text)], lambda a: bool(a.kind("835")))
    (remit,) = answers.kind("835")
    assert pyx12_errors(remit) == []
    check_balanced(remit)
    claims = claims_of_835(remit)
    rules = {
        rule.get("facility_type") or rule.get("taxonomy"): Decimal(rule["rate"])
        for rule in SBX001["inpatient"]["per_diem"]
    }
    for pcn, key, charge in ((snf, "21", Decimal("9000.00")), (psych, "283Q00000X", Decimal("14000.00"))):
        c = claims[pcn]
        allowed = 6 * rules[key]
        assert c["mia"] == ("6",), "MIA01: six covered days (the discharge day not counted)"
        assert len(c["clp"]) <= 9, "no CLP11/CLP12: priced per diem"
        assert c["cas"][0] == ("CO", "45", charge - allowed)
        patient = sum((a for g, _, a in c["cas"] if g == "PR"), Decimal(0))
        assert Decimal(c["clp"][3]) == allowed - patient
