"""Estimates follow the benefit structure the 271 reports, plan shape by plan shape, and come
to what the payer adjudicates for the same visit, to the cent.

The 271 (005010X279A1, loop 2110C EB) says per service type (EB03) and network (EB12 Y/N):
EB01 B co-payment (EB07 per visit, EB06=27), C deductible and G out-of-pocket (stop loss)
(EB07 with EB06 23 calendar year / 24 year to date / 29 remaining), A co-insurance (EB08, a
fraction). Rows for a service type govern that service type; the plan-level rows (EB03=30)
apply to a service type that reports none of its own. A plan whose office visits are
copay-only says so with office-visit rows of its own: deductible 0 (EB*C*IND*98 ... EB07=0)
and coinsurance 0 (EB*A*IND*98 ... EB08=0).

Every expected number below is derived by hand from the plan's rule (written next to it);
the estimate through the API and the payer sandbox's adjudication of the same 837P are both
compared with it, and docs/eligibility.md's table must show the same numbers. The allowed
amounts are SBX001's contract (the fee schedule both sides price with), loaded the way the
practice loads contracts: `fee_schedule.updated`.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from deploy.payer_sandbox import claim837
from deploy.payer_sandbox.adjudication import Context, Memory, adjudicate
from deploy.payer_sandbox.data import default_tables
from deploy.payer_sandbox.testing import SampleLine, sample_837
from services.eligibility.coverage.domain import summarize
from services.eligibility.coverage.x12 import parse_271
from shared import x12
from shared.events import new_event
from shared.events.catalogue import FeeScheduleEntry, FeeScheduleUpdated
from shared.events.envelope import encode
from tests.conftest import eventually, unique
from tests.eligibility.helpers import READ, WRITE, make_check_body, post_check

ROOT = Path(__file__).resolve().parents[2]
D = Decimal
# A date of service of these tests only: the contract below is loaded effective that day, so no
# other test's fee schedule on the shared broker is newer for it.
DOS = date(2025, 9, 8)
SELF_PAY_DOS = date(2025, 9, 9)
# SBX001's contracted allowed amounts (deploy/payer_sandbox/data/payers.json, SBX001
# fee_schedule): 99213 at 92.00, 80053 at 11.00. A 99213 billed at 150.00 is allowed 92.00
# (CO-45 58.00); that allowed amount is what the patient and the plan share.
CONTRACT = {"99213": D("92.00"), "80053": D("11.00")}


@dataclass(frozen=True)
class Line:
    code: str
    charge: str
    service_type: str  # the X12 service type (EB03) whose benefits apply to the line


@dataclass(frozen=True)
class Shape:
    key: str  # the row of docs/eligibility.md's table: "(a)", "(b)", ...
    member_id: str
    lines: tuple[Line, ...]
    copay: str
    deductible: str
    coinsurance: str
    patient: str
    payer: str


OFFICE = Line("99213", "150.00", "98")
LAB = Line("80053", "40.00", "30")

SHAPES = [
    # (a) copay only. SBX10001: office visits (98) $25 copay; the 271 reports office-visit
    # deductible 0 and coinsurance 0, so the plan's deductible (1000.00 left) and 20% do not
    # touch the visit. allowed 92.00: copay min(25.00, 92.00) = 25.00; deductible 0.00;
    # coinsurance 0% = 0.00. Patient 25.00, plan 92.00 - 25.00 = 67.00.
    Shape("(a)", "SBX10001", (OFFICE,), "25.00", "0.00", "0.00", "25.00", "67.00"),
    # (a2) the same copay-only visit with a lab panel, which is not an office visit: the lab
    # takes the plan-level rows (service type 30): deductible min(1000.00, 11.00) = 11.00;
    # coinsurance 20% x (11.00 - 11.00) = 0.00. Patient 25.00 + 11.00 = 36.00,
    # plan (92.00 + 11.00) - 36.00 = 67.00.
    Shape("(a2)", "SBX10001", (OFFICE, LAB), "25.00", "11.00", "0.00", "36.00", "67.00"),
    # (b) deductible then coinsurance. SBX70001: no copay; 25% coinsurance; deductible left
    # 400.00 individual, 37.15 family. Embedded family deductible: the member owes what is left
    # of either, min(400.00, 37.15) = 37.15. deductible min(37.15, 92.00) = 37.15;
    # coinsurance 25% x (92.00 - 37.15 = 54.85) = 13.7125 -> 13.71 (half-up to the cent).
    # Patient 37.15 + 13.71 = 50.86, plan 92.00 - 50.86 = 41.14.
    Shape("(b)", "SBX70001", (OFFICE,), "0.00", "37.15", "13.71", "50.86", "41.14"),
    # (c) copay plus coinsurance after the deductible. SBX70002: office copay 30.00, then on the
    # rest of the allowed amount the plan's deductible (20.00 left) and 15% coinsurance (the
    # 271 reports the copay and no office-visit deductible/coinsurance of its own).
    # copay 30.00; deductible min(20.00, 92.00 - 30.00 = 62.00) = 20.00;
    # coinsurance 15% x (62.00 - 20.00 = 42.00) = 6.30. Patient 56.30, plan 35.70.
    Shape("(c)", "SBX70002", (OFFICE,), "30.00", "20.00", "6.30", "56.30", "35.70"),
    # (d) out-of-pocket maximum reached. SBX70003: $25 office copay, but the individual
    # out-of-pocket maximum is met (remaining 0.00). Cost sharing (deductible, coinsurance,
    # copayments: 45 CFR 155.20) counts toward the annual limitation (45 CFR 156.130), so once
    # it is met the plan pays in full: copay min(25.00, out-of-pocket left 0.00) = 0.00.
    # Patient 0.00, plan 92.00.
    Shape("(d)", "SBX70003", (OFFICE,), "0.00", "0.00", "0.00", "0.00", "92.00"),
    # (d2) the maximum reached during the visit. SBX70004: no copay, deductible 60.00 left, 20%,
    # 40.00 left of the out-of-pocket maximum. Before the cap: deductible 60.00, coinsurance
    # 20% x 32.00 = 6.40. The cap takes the amounts in order: deductible min(60.00, 40.00) =
    # 40.00, coinsurance min(6.40, 0.00) = 0.00. Patient 40.00, plan 52.00.
    Shape("(d2)", "SBX70004", (OFFICE,), "0.00", "40.00", "0.00", "40.00", "52.00"),
]
IDS = [s.key.strip("()") for s in SHAPES]


def test_a_service_types_own_rows_govern_it_network_by_network() -> None:
    """A 271 whose office visits (98) are copay-only: EB*B 25.00 per visit, and office-visit rows
    of its own in network (EB12=Y): deductible 0 (EB*C, EB06 23 and 29, EB07=0) and coinsurance 0
    (EB*A, EB08=0). Those govern 98 in network; out of network 98 has no rows of its own, so the
    plan-level rows (EB03=30, EB12=N) apply there; the out-of-pocket maximum (EB*G) is reported
    for the plan only, so it applies to 98 in network too."""
    body = [
        "BHT*0022*11*T1*20250908*1200",
        "HL*1**20*1",
        "NM1*PR*2*SANDBOX HEALTH PLAN*****PI*SBX001",
        "HL*2*1*21*1",
        "NM1*1P*2*CLINIC*****XX*1234567893",
        "HL*3*2*22*0",
        "NM1*IL*1*DOE*JANE****MI*SBX10001",
        "EB*1*IND*30^98*PR*GOLD PPO",
        "EB*C*IND*30*PR**23*1500*****Y",
        "EB*C*IND*30*PR**29*1000*****Y",
        "EB*C*IND*30*PR**29*3000*****N",
        "EB*G*IND*30*PR**29*4200*****Y",
        "EB*A*IND*30*PR****.2****Y",
        "EB*A*IND*30*PR****.4****N",
        "EB*B*IND*98*PR**27*25*****Y",
        "EB*C*IND*98*PR**23*0*****Y",
        "EB*C*IND*98*PR**29*0*****Y",
        "EB*A*IND*98*PR****0****Y",
    ]
    text = x12.build(
        [[line.split("*") for line in body]],
        transaction_code="271",
        functional_id="HB",
        version="005010X279A1",
        sender_id="SBX001",
        receiver_id="REVCYCLE",
        control_number=9,
        now=datetime(2025, 9, 8, 12, 0),
    )
    office = {s.service_type_code: s for s in summarize(parse_271(text), ["30", "98"])}["98"]
    assert office.copay_in_network == D("25")
    assert (office.coinsurance_in_network, office.coinsurance_out_of_network) == (D(0), D(40))
    ded = office.deductible["individual"]
    assert (ded["in_network"].total, ded["in_network"].remaining) == (D(0), D(0))
    assert ded["out_of_network"].remaining == D(3000)
    assert office.out_of_pocket["individual"]["in_network"].remaining == D(4200)


def test_the_contract_used_by_hand_is_the_payers() -> None:
    payers = json.loads((ROOT / "deploy/payer_sandbox/data/payers.json").read_text())
    fees = {
        e["code"]: D(e["allowed"]) for e in payers["payers"]["SBX001"]["fee_schedule"] if not e["modifier"]
    }
    assert {code: fees[code] for code in CONTRACT} == CONTRACT


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_the_payer_sandbox_adjudicates_each_shape_as_derived_by_hand(shape: Shape) -> None:
    """The same visit as an 837P, through the sandbox's adjudication: PR-3 copay, PR-1
    deductible, PR-2 coinsurance (835 CAS group PR) as derived by hand."""
    tables = default_tables()
    text = sample_837(
        unique("EST")[:17],
        shape.member_id,
        [SampleLine(line.code, line.charge) for line in shape.lines],
        date_of_service=DOS.strftime("%Y%m%d"),
    )
    claim = claim837.parse_837(text)
    payer, scenario = tables.payer("SBX001"), tables.scenario(shape.member_id)
    assert payer is not None and scenario is not None
    ctx = Context(7, str(uuid.uuid4()), DOS + timedelta(days=3), "primary", None, D(0))
    (payment,) = adjudicate(claim, ctx, tables=tables, payer=payer, scenario=scenario, memory=Memory())
    pr = {"3": D(0), "1": D(0), "2": D(0)}
    for line in payment.lines:
        for adj in line.adjustments:
            if adj.group == "PR":
                pr[adj.reason] += adj.amount
    assert (pr["3"], pr["1"], pr["2"]) == (D(shape.copay), D(shape.deductible), D(shape.coinsurance))
    assert payment.patient_responsibility == D(shape.patient)
    assert payment.paid == D(shape.payer)


async def _load_contract(
    producer, admin, payer_id: str, effective: date, entries: dict[str, Decimal]
) -> None:
    """Load a fee schedule as payments does (`fee_schedule.updated`) and wait until eligibility
    keeps it."""
    schedule = FeeScheduleUpdated(
        payer_id=payer_id,
        fee_schedule_id=uuid.uuid4(),
        effective_date=effective,
        entries=[FeeScheduleEntry(code=code, allowed=allowed) for code, allowed in entries.items()],
    )
    topic, key, value, headers = encode(new_event(schedule, source="/tests/payments"))
    await producer.send_and_wait(topic, value, key=key, headers=headers)

    async def received() -> int:
        return await admin.fetchval(
            "SELECT count(*) FROM eligibility.fee_schedule_entries WHERE fee_schedule_id = $1",
            schedule.fee_schedule_id,
        )

    assert await eventually(received, timeout=30) == len(entries)


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
async def test_each_shape_is_estimated_as_derived_by_hand(eligibility, producer, admin, shape: Shape) -> None:
    """Through the API: a check against the sandbox (its 271), then the estimate of the visit.
    A line names its own service type only where it is not the visit's (98, office visit)."""
    lines = [
        {"code": line.code, "units": 1, "charge": line.charge}
        | ({"service_type_code": line.service_type} if line.service_type != "98" else {})
        for line in shape.lines
    ]
    async with eligibility() as (_, client):
        await _load_contract(producer, admin, "SBX001", DOS, CONTRACT)
        body = make_check_body(shape.member_id, date_of_service=DOS.isoformat())
        check = (await post_check(client, body, {**WRITE, "Cache-Control": "no-cache"})).json()
        assert (check["state"], check["status"]) == ("done", "active"), check
        response = await client.post(
            "/v1/estimates",
            json={"check_id": check["id"], "service_type_code": "98", "in_network": True, "lines": lines},
            headers=READ,
        )
    assert response.status_code == 200, response.text
    estimate = response.json()
    totals = estimate["totals"]
    got = (
        totals["copay"],
        totals["deductible"],
        totals["coinsurance"],
        estimate["patient_responsibility"],
        estimate["payer_responsibility"],
    )
    want = (shape.copay, shape.deductible, shape.coinsurance, shape.patient, shape.payer)
    assert got == want, [line["steps"] for line in estimate["lines"]] + [estimate["steps"]]


def _docs_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in (ROOT / "docs/eligibility.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.match(r"^(\([a-z]\d?\))", cells[0]) if line.startswith("|") else None
        if match:
            rows[match.group(1)] = cells
    return rows


def test_the_docs_table_shows_each_shape_as_derived_by_hand() -> None:
    """docs/eligibility.md: | shape | member | visit | plan | copay | deductible | coinsurance |
    patient | plan pays |, one row per shape, the same numbers as here."""
    rows = _docs_rows()
    for shape in SHAPES:
        assert shape.key in rows, shape.key
        cells = rows[shape.key]
        assert shape.member_id in cells[1]
        assert cells[-5:] == [shape.copay, shape.deductible, shape.coinsurance, shape.patient, shape.payer], (
            shape.key,
            cells,
        )


# --- self-pay ---------------------------------------------------------------------------------

# The practice's self-pay fee schedule (payer id SELF): 99213 at 85.00 loaded for these tests;
# data/fee_schedule.json's SELF prices 36415 at 10.00. A self-pay patient owes the self-pay price
# (min(charge, price x units)), or the charge for a code the schedule does not list; no payer
# shares it, and payer allowed amounts (any payer's, '*') never stand in for a self-pay price.
SELF_PRICES = {"99213": D("85.00")}


async def test_self_pay_estimate_uses_the_practices_self_pay_fee_schedule(
    eligibility, producer, admin
) -> None:
    patient = unique("self")
    async with eligibility() as (_, client):
        await _load_contract(producer, admin, "SELF", SELF_PAY_DOS, SELF_PRICES)
        response = await client.post(
            "/v1/estimates",
            json={
                "self_pay": True,
                "patient_id": patient,
                "date_of_service": SELF_PAY_DOS.isoformat(),
                "lines": [
                    {"code": "99213", "units": 1, "charge": "150.00"},
                    {"code": "36415", "units": 2, "charge": "25.00"},
                    {"code": "71046", "units": 1, "charge": "60.00"},
                ],
            },
            headers=READ,
        )
    assert response.status_code == 200, response.text
    estimate = response.json()
    # By hand: 99213 85.00 (the loaded SELF schedule); 36415 min(25.00, 10.00 x 2 = 20.00) =
    # 20.00 (the default file's SELF prices); 71046 not on the self-pay schedule: the charge
    # 60.00. Patient 165.00, payer 0.00.
    assert estimate["self_pay"] is True and estimate["patient_id"] == patient
    assert [line["patient_share"] for line in estimate["lines"]] == ["85.00", "20.00", "60.00"]
    assert (estimate["patient_responsibility"], estimate["payer_responsibility"]) == ("165.00", "0.00")
    assert "self-pay" in estimate["lines"][0]["steps"][0]


async def test_an_estimate_needs_a_check_or_self_pay(eligibility) -> None:
    async with eligibility() as (_, client):
        line = {"code": "99213", "units": 1, "charge": "150.00"}
        neither = await client.post("/v1/estimates", json={"lines": [line]}, headers=READ)
        both = await client.post(
            "/v1/estimates",
            json={"check_id": str(uuid.uuid4()), "self_pay": True, "patient_id": "p1", "lines": [line]},
            headers=READ,
        )
        nobody = await client.post("/v1/estimates", json={"self_pay": True, "lines": [line]}, headers=READ)
    assert neither.status_code == both.status_code == nobody.status_code == 422
