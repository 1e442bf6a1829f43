"""Hospital service types (issue 20): a check asks for 48 hospital inpatient, 50 hospital
outpatient and 86 emergency services, the 271's rows for them become the check's benefits, and
an outpatient visit is estimated by revenue code.

The 271 here is written by hand, as a payer writes one, from the 005010X279A1 guide (not by the
payer sandbox): loop 2110C, one EB per benefit, EB01 the kind (1 active, A co-insurance, B
co-payment, C deductible, G out of pocket), EB02 the level (IND, FAM), EB03 the service type
(repeated with the repetition separator, `^`, for several), EB06 the time period (23 calendar
year, 29 remaining, 27 visit, 36 admission), EB07 an amount, EB08 a percent as a fraction,
EB12 in plan network (Y/N). The HTTP path is real: a small payer (uvicorn on a free port,
`deploy.serving`) answers the service's 270 with it; the 270's 2110C EQ01 repeats once per
service type asked (EQ*48, EQ*50, EQ*86), which the test reads back.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deploy.serving import serving
from services.eligibility.coverage.domain import VERSION, result_of
from services.eligibility.coverage.x12 import parse_271
from shared import x12
from tests.conftest import end_offsets, read_from, unique
from tests.eligibility.helpers import READ, make_check_body, post_check, x279_errors

DOS = "2026-03-02"

# 2110C as the payer reports the plan and its hospital benefits (in network unless EB12 = N).
HOSPITAL_2110C = [
    "EB*1*IND*30^48^50^86*PR*SANDBOX PPO GOLD",
    # the plan's (30): calendar-year deductible 1500.00, 200.00 left (family 900.00 left),
    # out-of-pocket 5000.00 with 3200.00 left, 20% co-insurance
    "EB*C*IND*30***23*1500*****Y",
    "EB*C*IND*30***29*200*****Y",
    "EB*C*FAM*30***29*900*****Y",
    "EB*G*IND*30***23*5000*****Y",
    "EB*G*IND*30***29*3200*****Y",
    "EB*A*IND*30*****0.2****Y",
    # 48 hospital inpatient: 250.00 per admission, then 10%; out of network a 500.00
    # deductible per admission and 40%
    "EB*B*IND*48***36*250*****Y",
    "EB*A*IND*48*****0.1****Y",
    "EB*C*IND*48***36*500*****N",
    "EB*A*IND*48*****0.4****N",
    # 50 hospital outpatient: 15% (its own), the plan's deductible
    "EB*A*IND*50*****0.15****Y",
    # 86 emergency: 150.00 per visit, then the plan's deductible and co-insurance
    "EB*B*IND*86***27*150*****Y",
]


def make_271(trace: str = "abc", member_id: str = "SBX10001", originator: str = "9000REVCYC") -> str:
    """A 271 from one payer (2100A), provider (2100B) and subscriber (2000C/2100C/2110C)."""
    body = [
        "BHT*0022*11*abc*20260302*1200",
        "HL*1**20*1",
        "NM1*PR*2*SANDBOX HEALTH PLAN*****PI*SBX001",
        "HL*2*1*21*1",
        "NM1*1P*2*REVCYCLE CLINIC*****XX*1234567893",
        "HL*3*2*22*0",
        f"TRN*2*{trace}*{originator}",
        f"NM1*IL*1*ACTIVE*ALEX****MI*{member_id}",
        "DMG*D8*19800115*F",
        "DTP*346*D8*20260101",
        *HOSPITAL_2110C,
    ]
    return x12.build(
        [[line.split("*") for line in body]],
        transaction_code="271",
        functional_id="HB",
        version=VERSION,
        sender_id="SBX001",
        receiver_id="REVCYCLE",
        control_number=9,
        now=datetime(2026, 3, 2, 12, 0),
    )


def by_code(benefits: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {b["service_type_code"]: b for b in benefits}


def test_the_hand_written_271_is_valid_x279a1():
    assert x279_errors(make_271()) == []


def test_hospital_service_types_per_admission_and_per_visit():
    """What the billing specialist reads off the check, each value from a row above."""
    result = result_of(parse_271(make_271()), ["48", "50", "86"])
    got = by_code(result["benefits"])
    inpatient, outpatient, emergency = got["48"], got["50"], got["86"]
    assert inpatient["copay"] == {"in_network": "250.00", "out_of_network": None}
    assert inpatient["copay_per"] == {"in_network": "admission", "out_of_network": None}
    assert inpatient["coinsurance_percent"] == {"in_network": "10", "out_of_network": "40"}
    # the per-admission deductible is not the year's: the plan's 200.00 left still applies
    assert inpatient["deductible_per_admission"] == {"in_network": None, "out_of_network": "500.00"}
    assert inpatient["deductible"]["individual"]["in_network"]["remaining"] == "200.00"
    assert outpatient["copay"] == {"in_network": None, "out_of_network": None}
    assert outpatient["coinsurance_percent"]["in_network"] == "15"
    assert outpatient["deductible"]["family"]["in_network"]["remaining"] == "900.00"
    assert emergency["copay"]["in_network"] == "150.00"
    assert emergency["copay_per"]["in_network"] == "visit"
    assert emergency["coinsurance_percent"]["in_network"] == "20"  # the plan's
    assert emergency["out_of_pocket"]["individual"]["in_network"]["remaining"] == "3200.00"


# --- the HTTP path: the service's 270 to a payer answering the hand-written 271 --------------


class HandPayer:
    """A payer on real HTTP that keeps each 270 it gets and answers the hand-written 271,
    echoing the 270's 2000C TRN (TRN02, TRN03) and the member id as a payer does."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def answer(self, request: Request) -> Response:
        text = (await request.body()).decode()
        self.received.append(text)
        trn = next(s for s in x12.parse(text).transactions[0].segments if s.id == "TRN")
        member = next(
            s for s in x12.parse(text).transactions[0].segments if s.id == "NM1" and s.get(1) == "IL"
        )
        body = make_271(trace=trn.get(2), member_id=member.get(9), originator=trn.get(3))
        return Response(body, media_type="application/edi-x12")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/x12/270", self.answer, methods=["POST"])])


def eqs(text: str) -> list[str]:
    """EQ01 of each EQ of the 270's loop 2110C, in order."""
    return [s.get(1) for s in x12.parse(text).transactions[0].segments if s.id == "EQ"]


async def estimate(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/estimates", json=body, headers=READ)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_hospital_check_and_outpatient_estimates_by_revenue_code(eligibility, servers):
    payer = HandPayer()
    patient = unique("pat")
    start = await end_offsets(servers.kafka_bootstrap, "eligibility.checked")
    async with serving(payer.app()) as url, eligibility(endpoint=f"{url}/x12/270") as (_, client):
        body = make_check_body("SBX10001", patient_id=patient, date_of_service=DOS)
        body["service_type_codes"] = ["48", "50", "86"]
        response = await post_check(client, body)
        assert response.status_code in (200, 201), response.text
        check = response.json()
        assert (check["state"], check["status"]) == ("done", "active"), check
        # The 270: one EQ per service type (005010X279A1 2110C EQ01, repeated), valid X279A1
        (sent,) = payer.received
        assert eqs(sent) == ["48", "50", "86"]
        assert x279_errors(sent) == []
        got = by_code(check["benefits"])
        assert (got["48"]["copay"]["in_network"], got["48"]["copay_per"]["in_network"]) == (
            "250.00",
            "admission",
        )
        assert Decimal(got["48"]["deductible_per_admission"]["out_of_network"]) == Decimal("500")
        assert (got["86"]["copay"]["in_network"], got["86"]["copay_per"]["in_network"]) == ("150.00", "visit")

        # An ER visit by revenue code (0450 emergency room: service type 86 unless said), priced
        # from SBX001's outpatient rates (data/outpatient_rates.json): 99284 520.00 and 80053
        # 14.00 per unit by HCPCS; 0250 pharmacy 45% of the charge; 0270 supplies packaged.
        er = await estimate(
            client,
            {
                "check_id": check["id"],
                "lines": [
                    {"revenue_code": "0450", "code": "99284", "charge": "1200.00"},
                    {"revenue_code": "0300", "code": "80053", "charge": "90.00"},
                    {"revenue_code": "0250", "units": 2, "charge": "35.00"},
                    {"revenue_code": "0270", "charge": "20.00"},
                ],
            },
        )
        # Outpatient surgery (0360: not listed, SBX001's default 50% of the charge), a chest
        # x-ray without HCPCS (0320: 55% of the charge) and a lab panel (80053 14.00):
        op = await estimate(
            client,
            {
                "check_id": check["id"],
                "lines": [
                    {"revenue_code": "0360", "charge": "3000.00"},
                    {"revenue_code": "0320", "charge": "210.00"},
                    {"revenue_code": "0300", "code": "80053", "charge": "45.00"},
                ],
            },
        )
    # By hand, ER (86): copay 150.00 per visit, the plan's deductible min(200.00, 900.00) =
    # 200.00 left, the plan's 20%:
    #   0450: allowed min(1200.00, 520.00) = 520.00; copay 150.00; deductible min(200.00,
    #         370.00) = 200.00; 20% x 170.00 = 34.00                              -> 384.00
    #   0300: allowed min(90.00, 14.00) = 14.00; copay taken; deductible 0.00 left;
    #         20% x 14.00 = 2.80                                                   -> 2.80
    #   0250: allowed 45% x 35.00 = 15.75; 20% x 15.75 = 3.15                      -> 3.15
    #   0270: packaged (CO-97): allowed 0.00                                       -> 0.00
    #   patient 389.95 of allowed 549.75; payer 159.80
    assert er["service_type_code"] == "86"
    assert [(x["revenue_code"], x["allowed"], x["patient_share"]) for x in er["lines"]] == [
        ("0450", "520.00", "384.00"),
        ("0300", "14.00", "2.80"),
        ("0250", "15.75", "3.15"),
        ("0270", "0.00", "0.00"),
    ]
    assert (er["totals"]["allowed"], er["patient_responsibility"], er["payer_responsibility"]) == (
        "549.75",
        "389.95",
        "159.80",
    )
    # By hand, outpatient (50): no copay, the plan's 200.00 deductible, its own 15%:
    #   0360: allowed 50% x 3000.00 = 1500.00; deductible 200.00; 15% x 1300.00 = 195.00 -> 395.00
    #   0320: allowed 55% x 210.00 = 115.50; deductible 0.00; 15% x 115.50 = 17.325 -> 17.33
    #         (half up)
    #   0300: allowed 14.00; 15% x 14.00 = 2.10                                    -> 2.10
    #   patient 414.43 of allowed 1629.50; payer 1215.07
    assert op["service_type_code"] == "50"
    assert [(x["allowed"], x["deductible"], x["coinsurance"]) for x in op["lines"]] == [
        ("1500.00", "200.00", "195.00"),
        ("115.50", "0.00", "17.33"),
        ("14.00", "0.00", "2.10"),
    ]
    assert (op["patient_responsibility"], op["payer_responsibility"]) == ("414.43", "1215.07")

    # eligibility.checked carries the hospital benefits (no PHI), per admission and per visit
    records = await read_from(
        servers.kafka_bootstrap,
        "eligibility.checked",
        start,
        until=lambda rs: any(r.key == patient.encode() for r in rs),
    )
    (event,) = [json.loads(r.value) for r in records if r.key == patient.encode()]  # binary mode: the data
    summary = {(b["service_type_code"], b["in_network"]): b for b in event["benefits"]}
    assert summary[("48", True)]["copay_per"] == "admission"
    assert Decimal(summary[("48", False)]["deductible_per_admission"]) == Decimal("500")
    assert summary[("86", True)]["copay_per"] == "visit"


async def test_an_estimate_line_names_a_code_or_a_revenue_code(eligibility):
    async with eligibility() as (_, client):
        response = await client.post(
            "/v1/estimates",
            json={"self_pay": True, "patient_id": "P1", "lines": [{"charge": "10.00"}]},
            headers=READ,
        )
    assert response.status_code == 422
    problem = response.json()
    assert [e["rule"] for e in problem["errors"]] == ["code_or_revenue_code"]
