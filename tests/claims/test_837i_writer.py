"""The 837I (005010X223A2) the claims service writes: every kind of institutional claim the suite
makes (inpatient, outpatient, emergency, corrected, void, secondary with MIA and with MOA) passes
pyx12's strict validator with 0 errors and the 837 COB balancing rules, is read back by x12sdk's
typed 837I models (its X223A3 models, which read X223A2) to the values given, and shared/x12.parse
checks its envelopes. Pure functions: no servers.

What pyx12 cannot check, because its only 837I map is X223A1 (`837Q3.I.5010.X223.A1.xml`, which
its maps.xml also uses for GS08 005010X223A2), is asserted here by hand:

- A2 vs A1: comparing pyx12's A1 map element by element with stupidedi's X223A2 definition
  (kputnam/stupidedi, X223A2-HC837.rb), the one usage that changed is CL101 (admission type
  code): situational in A1, required in A2. pyx12 would pass a CL1 without it; every CL1 here
  is asserted to carry it (9, "information not available", when the claim has no admission).
- The guide's situational notes, which no map encodes: DTP*435 on inpatient claims only (X12 RFI
  1520; home health too, RFI 1479), D8 when the admission hour is unknown; HI*ABJ on inpatient
  claims only, HI*APR on outpatient ones; POA in HI0x-9 (empty for the exempt "1"); SV204 DA for
  accommodation revenue codes 010x-021x; 2310D only when the rendering NPI is not the attending's;
  2400 DTP*472 on outpatient bills only (RFI 1435; 12x/22x Part B inpatient bills count as outpatient).
- The 837P writer is unchanged by the 837I (its own tests, tests/claims/test_x12_837.py, pin it).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from x12sdk.io import X12ModelReader

from services.claims.claims.schemas import ClaimData
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import claim_segments, generate
from shared import x12
from tests.claims.cob import x12_837_errors
from tests.claims.helpers import BILLING_NPI, make_claim
from tests.claims.institutional import ATTENDING, make_emergency, make_inpatient, make_outpatient

NOW = datetime(2026, 11, 20, 9, 30)


def make_secondary(body: dict[str, Any], *, adjudication: dict[str, Any]) -> dict[str, Any]:
    """The claim billed to the secondary after the primary paid: 2320 with its paid amount, the
    claim-level CAS, MIA or MOA (`adjudication`), and each line's 2430 as its 835 gave them."""
    charges = [Decimal(line["charge"]) for line in body["lines"]]
    lines = []
    for n, charge in enumerate(charges, start=1):
        paid = (charge * Decimal("0.6")).quantize(Decimal("0.01"))
        lines.append(
            {
                "line_number": n,
                "paid": str(paid),
                "adjustments": [{"group_code": "CO", "reason_code": "45", "amount": str(charge - paid)}],
            }
        )
    primary = {
        "payer_id": "SBX002",
        "member_id": "PRIM77",
        "order": "primary",
        "paid": str(sum(Decimal(line["paid"]) for line in lines)),
        "patient_responsibility": "0.00",
        "adjudication_date": "2026-11-15",
        "payer_claim_control_number": "PRIMCCN1",
        "lines": lines,
    } | adjudication
    return body | {"coverage_order": "secondary", "other_coverages": [primary]}


# Where x12sdk's models (shared by its 835, 837P and 837I) are stricter than the 837I guide: its
# MIA takes MIA01 only as the literal 0 (the guide: the covered days or visits count, required),
# and its SVD requires SVD03 (the 837I's is situational: the procedure, when the line has one;
# SVD04 carries the revenue code). A claim that sends either is read with exactly these complaints.
X12SDK_STRICTER = {"covered_days_visit_count", "composite_medical_procedure_identifier"}
# And one x12sdk bug: its SVD handler empties the line's 2430 list at every SVD (`if <constant>:`),
# so a line adjudicated by two prior payers keeps only the last one, and its SE count check fails.
X12SDK_ONE_2430_PER_LINE = "Value error, SE segment count {sent} != actual count {kept}"


def written(
    body: dict[str, Any], pcn: str = "I1234567890", *, x12sdk_rejects: frozenset[str] = frozenset()
) -> tuple[str, list[x12.Segment], Any]:
    """The 837I of `body`: the text, its body segments, and x12sdk's 2300 loop. Asserts the
    envelopes (shared/x12.parse), 005010X223A2 in GS08 and ST03, pyx12 with 0 errors and COB.
    `x12sdk_rejects`: exactly what x12sdk is expected to refuse (field names, or the message of a
    model-level error), for the cases above where it departs from the guide; then no loop."""
    data = ClaimData.model_validate(body)
    text = generate(data, pcn, control_number=9001, settings=ClaimsSettings(), now=NOW)
    inter = x12.parse(text, expect="837")
    (transaction,) = inter.transactions
    assert transaction.st.get(3) == "005010X223A2" and inter.groups[0].version == "005010X223A2"
    assert x12_837_errors(text) == []
    segments = transaction.segments
    cl1 = [s for s in segments if s.id == "CL1"]
    assert len(cl1) == 1 and cl1[0].get(1), "X223A2: CL101 is required (pyx12's A1 map cannot say)"
    if x12sdk_rejects:
        with pytest.raises(ValidationError) as refused, X12ModelReader(text) as reader:
            list(reader.models())
        found = {str(e["loc"][-1]) if e["loc"] else e["msg"] for e in refused.value.errors()}
        assert found == x12sdk_rejects
        return text, segments, None
    with X12ModelReader(text) as reader:
        (model,) = list(reader.models())
    subscriber = model.loop_2000a[0].loop_2000b[0]
    clm = subscriber.loop_2300[0] if subscriber.loop_2300 else subscriber.loop_2000c[0].loop_2300[0]
    return text, segments, clm


def elements(segments: list[x12.Segment], sid: str, first: str | None = None) -> list[str]:
    """The elements of each `sid` segment (whose first element is `first`, when given), joined."""
    return ["*".join(s.elements) for s in segments if s.id == sid and (first is None or s.get(1) == first)]


def test_inpatient_stay_with_drg_admission_discharge_poa_and_pcs():
    text, segments, clm = written(make_inpatient())
    assert elements(segments, "CLM") == ["I1234567890*22810.55***11:A:1**A*Y*Y"]  # CLM06 not used
    assert elements(segments, "DTP")[:3] == [
        "096*TM*1100",
        "434*RD8*20261101-20261104",
        "435*DT*202611011400",
    ]
    assert elements(segments, "CL1") == ["1*1*01"]
    assert elements(segments, "HI") == [
        "ABK:I214:::::::Y",
        "ABJ:R079",
        "ABN:W010XXA:::::::N",
        "DR:247",
        "ABF:E119:::::::Y*ABF:Z9861",  # POA 1 (exempt) is sent as an empty HI0x-9
        "BBR:02703DZ:D8:20261102",
        "BBQ:B2111ZZ:D8:20261102",
        "BI:74:RD8:20261102-20261103",
        "BH:11:D8:20261031",
        "BE:80:::3",
        "BG:39",
    ]
    assert elements(segments, "NM1", "85")[0].startswith("85*2*SPRINGFIELD GENERAL HOSPITAL")
    assert [s.get(1) for s in segments if s.id == "NM1"][-3:] == ["71", "72", "ZZ"]  # 2310A-C, no 2310D
    assert elements(segments, "PRV", "AT") == ["AT*PXC*207RC0000X"]
    assert elements(segments, "SV2") == ["0120**4500*DA*3", "0481*HC:92928*18000*UN*1", "0250**310.55*UN*1"]
    assert elements(segments, "REF", "6R") == ["6R*1", "6R*2", "6R*3"]
    assert elements(segments, "DTP", "472") == []  # RFI 1435: no line dates on an inpatient Part A bill
    # x12sdk's typed models read the same claim back.
    assert clm.clm_segment.total_claim_charge_amount == Decimal("22810.55")
    assert clm.cl1_segment.patient_status_code == "01"
    assert [line.sv2_segment.service_line_revenue_code for line in clm.loop_2400] == ["0120", "0481", "0250"]
    assert clm.loop_2310a.nm1_segment.name_last_or_organization_name == "GREY"
    assert "~HI*ABK:I214:::::::Y~" in text.replace("\n", "")


def test_inpatient_admission_without_hour_is_d8_and_more_than_twelve_other_diagnoses_take_two_hi():
    """DTP*435: DT needs the hour (CCYYMMDDHHMM); the guide's D8 is for an unknown hour. ABF
    carries twelve composites per HI and the guide allows two such segments."""
    others = [
        "E11.9",
        "I10",
        "E78.5",
        "N18.3",
        "D64.9",
        "K21.9",
        "F41.1",
        "G47.00",
        "M54.50",
        "J44.9",
        "I48.91",
        "E03.9",
        "Z79.4",
    ]
    body = make_inpatient(diagnoses=["I21.4", *others])
    body["institutional"]["admission"]["hour"] = None
    body["institutional"]["present_on_admission"] = {}
    _, segments, _ = written(body)
    assert "435*D8*20261101" in elements(segments, "DTP")
    abf = [s for s in segments if s.id == "HI" and s.get(1).startswith("ABF")]
    assert [len(s.elements) for s in abf] == [12, 1]


def test_an_inpatient_part_b_bill_carries_line_dates():
    """TOB 012x (inpatient, Part B only) is outpatient for the service date (RFI 1435): its lines
    say their dates, while it keeps the inpatient admission date."""
    body = make_inpatient()
    body["institutional"]["facility_type_code"] = "12"
    _, segments, _ = written(body)
    assert elements(segments, "DTP", "472") == ["472*D8*20261101", "472*D8*20261102", "472*D8*20261102"]
    assert "435*DT*202611011400" in elements(segments, "DTP")


def test_outpatient_visit_by_revenue_code_with_hcpcs():
    body = make_outpatient()
    body["institutional"]["admitting_diagnosis"] = "R109"  # inpatient only: not sent
    _, segments, clm = written(body)
    assert elements(segments, "CLM")[0].split("*")[4] == "13:A:1"
    assert [d for d in elements(segments, "DTP") if d.startswith(("435", "096"))] == []
    assert elements(segments, "CL1") == ["9**01"]  # no admission: CL101 9, no CL102
    assert elements(segments, "HI") == ["ABK:R109:::::::Y", "ABF:K219"]
    assert elements(segments, "SV2") == ["0300*HC:80053*120*UN*1", "0320*HC:74018:26*210*UN*1"]
    assert elements(segments, "DTP", "472") == [
        "472*D8*20261110",
        "472*D8*20261110",
    ]  # required on outpatient
    assert clm.loop_2400[1].sv2_segment.line_item_charge_amount == Decimal("210")


def test_emergency_visit_with_admission_type_1_and_reason_for_visit():
    _, segments, clm = written(make_emergency())
    assert elements(segments, "CL1") == ["1*1*01"]
    assert [
        d for d in elements(segments, "DTP") if d.startswith("435")
    ] == []  # outpatient: no admission date
    assert elements(segments, "HI") == ["ABK:S52501A", "APR:M25531", "ABN:W19XXXA"]
    assert elements(segments, "SV2")[0] == "0450*HC:99284:25*950*UN*1"
    assert clm.cl1_segment.admission_type_code == "1"


@pytest.mark.parametrize("frequency", ["7", "8"])
def test_corrected_and_void_claims_carry_the_original_payer_claim_number(frequency: str):
    """A replacement (7) or void (8) names the payer's claim control number of the claim it
    replaces (2300 REF*F8), after the prior authorization (REF*G1), as the guide orders them."""
    body = make_inpatient(
        frequency_code=frequency,
        original_payer_claim_control_number="PAYERCCN42",
        prior_authorization_number="AUTH1",
    )
    _, segments, _ = written(body)
    assert elements(segments, "CLM")[0].split("*")[4] == f"11:A:{frequency}"
    assert [s.get(1) for s in segments if s.id == "REF" and s.get(1) in ("G1", "F8")] == ["G1", "F8"]
    assert elements(segments, "REF", "F8") == ["F8*PAYERCCN42"]


def test_secondary_inpatient_claim_carries_the_primarys_mia_and_line_adjudication():
    mia = {
        "covered_days": "3",
        "drg_amount": "13612.40",
        "capital_amount": "640.10",
        "remark_codes": ["MA01", "N1"],
    }
    body = make_secondary(make_inpatient(), adjudication={"inpatient": mia})
    body["other_coverages"][0]["adjustments"] = []
    _, segments, _ = written(body, x12sdk_rejects=frozenset(X12SDK_STRICTER))
    sbr = elements(segments, "SBR")
    assert sbr[0].startswith("S*18") and sbr[1].startswith("P*18")  # 2000B secondary, 2320 the primary
    assert elements(segments, "MIA") == ["3***13612.4*MA01***640.1************N1"]
    assert elements(segments, "AMT") == ["D*13686.33", "EAF*0"]
    assert elements(segments, "SVD") == [
        "SBX002*2700**0120*3",
        "SBX002*10800*HC:92928*0481*1",
        "SBX002*186.33**0250*1",
    ]
    assert elements(segments, "DTP", "573") == ["573*D8*20261115"] * 3  # 2430; not in 2330B


def test_secondary_outpatient_claim_carries_the_primarys_moa_and_claim_level_cas():
    moa = {"reimbursement_rate": "0.825", "hcpcs_payable_amount": "198.00", "remark_codes": ["MA130"]}
    body = make_secondary(make_outpatient(), adjudication={"outpatient": moa})
    primary = body["other_coverages"][0]
    primary["paid"] = str(Decimal(primary["paid"]) - 10)
    primary["adjustments"] = [{"group_code": "PR", "reason_code": "2", "amount": "10.00"}]
    primary["patient_responsibility"] = "10.00"
    _, segments, clm = written(body)
    assert elements(segments, "MOA") == ["0.825*198*MA130"]
    assert elements(segments, "CAS")[0] == "PR*2*10"
    assert elements(segments, "AMT") == ["D*188", "EAF*10"]
    moa_read = clm.loop_2320[0].moa_segment
    assert (moa_read.reimbursement_rate, moa_read.claim_payment_remark_code_1) == (Decimal("0.825"), "MA130")
    assert [line.loop_2430[0].svd_segment.service_line_paid_amount for line in clm.loop_2400] == [72, 126]


def test_tertiary_claim_carries_both_prior_payers_2320_and_2430():
    """A tertiary claim: one 2320/2330 per prior payer (P and S), each with its own 2430 per
    line, and each balancing the claim on its own (CLM02 - AMT*D - CAS = 0, checked by cob.py)."""
    body = make_secondary(make_outpatient(), adjudication={"outpatient": {"remark_codes": ["MA01"]}})
    primary = body["other_coverages"][0]
    secondary = {
        "payer_id": "SBX001",
        "member_id": "SEC55",
        "order": "secondary",
        "paid": "100.00",
        "patient_responsibility": "0.00",
        "adjudication_date": "2026-11-18",
        "lines": [
            {
                "line_number": 1,
                "paid": "40.00",
                "adjustments": [{"group_code": "CO", "reason_code": "45", "amount": "80.00"}],
            },
            {
                "line_number": 2,
                "paid": "60.00",
                "adjustments": [{"group_code": "CO", "reason_code": "45", "amount": "150.00"}],
            },
        ],
    }
    body |= {"coverage_order": "tertiary", "payer_id": "SBX003", "other_coverages": [primary, secondary]}
    refused = X12SDK_ONE_2430_PER_LINE.format(sent=60, kept=54)  # the primary's 2 x (SVD, CAS, DTP) lost
    _, segments, _ = written(body, x12sdk_rejects=frozenset({refused}))
    assert [e[:2] for e in elements(segments, "SBR")] == ["T*", "P*", "S*"]
    assert [e.split("*")[0] for e in elements(segments, "SVD")] == ["SBX002", "SBX001", "SBX002", "SBX001"]
    assert elements(segments, "AMT") == ["D*198", "EAF*0", "D*100", "EAF*0"]


def test_dependent_patient_gets_2000c_and_the_subscriber_no_dmg():
    patient = {"first_name": "Tim", "last_name": "Doe", "birth_date": "2016-05-06", "gender": "M"}
    _, segments, clm = written(make_inpatient(relationship_code="19", patient=patient))
    assert elements(segments, "HL") == ["1**20*1", "2*1*22*1", "3*2*23*0"]
    assert elements(segments, "PAT") == ["19"] and elements(segments, "DMG") == ["D8*20160506*M"]
    assert elements(segments, "SBR")[0].startswith("P**")  # SBR02 18 only when the patient is the subscriber
    assert clm.clm_segment.patient_control_number == "I1234567890"


def test_rendering_provider_is_written_only_when_it_is_not_the_attending():
    same = make_outpatient(rendering_provider=ATTENDING)
    other = make_outpatient(rendering_provider={"npi": BILLING_NPI, "name": "Karev", "first_name": "Alex"})
    assert "82" not in [s.get(1) for s in written(same)[1] if s.id == "NM1"]
    assert elements(written(other)[1], "NM1", "82") == [f"82*1*KAREV*ALEX****XX*{BILLING_NPI}"]


def test_the_one_submit_path_chooses_the_guide_by_claim_type():
    professional = generate(
        ClaimData.model_validate(make_claim()), "P1", control_number=1, settings=ClaimsSettings()
    )
    institutional = generate(
        ClaimData.model_validate(make_outpatient()), "I1", control_number=2, settings=ClaimsSettings()
    )
    assert x12.parse(professional).transactions[0].st.get(3) == "005010X222A2"
    assert x12.parse(institutional).transactions[0].st.get(3) == "005010X223A2"
    assert "SV1*" in professional and "SV2*" not in professional and "SV2*" in institutional


def test_pyx12_rejects_an_837i_without_its_required_cl1():
    """The validator the tests above rely on does read an 837I: without CL1 (required in 2300) it
    complains, so their 0 errors is a verdict, not a map that was never applied."""
    data = ClaimData.model_validate(make_inpatient())
    body = [s for s in claim_segments(data, "I9", "3", NOW, ClaimsSettings()) if s[0] != "CL1"]
    text = x12.build(
        [body],
        transaction_code="837",
        functional_id="HC",
        version="005010X223A2",
        sender_id="REVCYCLE",
        receiver_id="SANDBOXCH",
        control_number=3,
        now=NOW,
    )
    errors = x12_837_errors(text)
    assert len(errors) == 1 and "CL1" in errors[0], errors
