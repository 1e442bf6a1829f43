"""Estimates from a completed check and a fee schedule received as an event."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from services.eligibility.estimates.domain import Benefits, LineIn, compute
from shared.events import new_event
from shared.events.catalogue import FeeScheduleEntry, FeeScheduleUpdated
from shared.events.envelope import encode
from tests.conftest import eventually
from tests.eligibility.helpers import MEMBERS, READ, make_check_body, post_check


async def test_estimate_from_a_check_and_fee_schedule_event_matches_the_hand_computation(
    eligibility, producer, admin
):
    # The payer's allowed amount for 99213 arrives as an event; 80053 comes from the default
    # file. The effective date is the date of service, so no other fee schedule on the shared
    # broker can be newer for that date.
    dos = date(2025, 3, 17)
    schedule = FeeScheduleUpdated(
        payer_id="SBX001",
        fee_schedule_id=uuid.uuid4(),
        effective_date=dos,
        entries=[FeeScheduleEntry(code="99213", allowed=Decimal("97.30"))],
    )
    topic, key, value, headers = encode(new_event(schedule, source="/tests/payments"))
    await producer.send_and_wait(topic, value, key=key, headers=headers)
    member = MEMBERS["SBX10002"]
    tier = member["benefits"]["in_network"]
    # The hand computation below assumes these benefits; they come from the scenario table.
    assert (
        tier["copays"]["98"],
        tier["coinsurance_percent"],
        tier["deductible"]["individual"]["remaining"],
    ) == (
        "20.00",
        "10",
        "0.00",
    )
    async with eligibility() as (_, client):
        check = (
            await post_check(client, make_check_body("SBX10002", date_of_service=dos.isoformat()))
        ).json()

        async def received():
            return await admin.fetchval(
                "SELECT allowed FROM eligibility.fee_schedule_entries WHERE fee_schedule_id = $1",
                schedule.fee_schedule_id,
            )

        assert await eventually(received, timeout=30) == Decimal("97.30")
        response = await client.post(
            "/v1/estimates",
            json={
                "check_id": check["id"],
                "service_type_code": "98",
                "lines": [
                    {"code": "99213", "units": 1, "charge": "150.00"},
                    # A lab panel is not an office visit: the plan-level benefits (30) apply.
                    {"code": "80053", "units": 1, "charge": "40.00", "service_type_code": "30"},
                ],
            },
            headers=READ,
        )
    assert response.status_code == 200, response.text
    estimate = response.json()
    # By hand: SBX10002's office visits (98) are copay-only: the 271 reports the $20 copay and
    # office-visit rows of their own, deductible 0 and coinsurance 0. The plan (30): deductible
    # met (individual remaining 0.00), coinsurance 10%.
    #   99213: allowed 97.30 (event); copay 20.00; deductible 0.00; 0% x 77.30 = 0.00 -> 20.00
    #   80053: allowed 10.56 (default file, SBX001); service type 30: no copay, deductible met,
    #          10% x 10.56 = 1.056 -> 1.06
    #   patient 21.06, payer 107.86 - 21.06 = 86.80
    first, second = estimate["lines"]
    assert (
        first["allowed"],
        first["copay"],
        first["deductible"],
        first["coinsurance"],
        first["patient_share"],
    ) == (
        "97.30",
        "20.00",
        "0.00",
        "0.00",
        "20.00",
    )
    assert str(schedule.fee_schedule_id) in first["steps"][0]
    assert (second["allowed"], second["copay"], second["coinsurance"], second["patient_share"]) == (
        "10.56",
        "0.00",
        "1.06",
        "1.06",
    )
    assert "default fee schedule (SBX001)" in second["steps"][0]
    assert estimate["totals"]["allowed"] == "107.86"
    assert (estimate["patient_responsibility"], estimate["payer_responsibility"]) == ("21.06", "86.80")
    print("\n[estimate] " + "\n  ".join(first["steps"] + second["steps"] + estimate["steps"]))


def test_estimate_matches_a_hand_computed_example():
    # Office visit 99213 (charge 150.00, allowed 92.50) and a venipuncture 36415 (charge 20.00,
    # allowed 3.10 x 2 units = 6.20), copay 25.00, deductible remaining 50.00, coinsurance 20%.
    #   line 1: allowed 92.50; copay 25.00; deductible min(50.00, 67.50) = 50.00;
    #           coinsurance 20% x 17.50 = 3.50; patient 78.50, payer 14.00
    #   line 2: allowed 6.20; copay 0 (used); deductible 0 (met); coinsurance 20% x 6.20 = 1.24
    #   total:  allowed 98.70, patient 79.74, payer 18.96
    lines = [
        LineIn("99213", [], 1, Decimal("150.00"), Decimal("92.50"), "fee schedule"),
        LineIn("36415", [], 2, Decimal("20.00"), Decimal("3.10"), "fee schedule"),
    ]
    result = compute(lines, Benefits(Decimal("25.00"), Decimal("50.00"), Decimal("20"), Decimal("4000.00")))
    first, second = result["lines"]
    assert (first["allowed"], first["copay"], first["deductible"], first["coinsurance"]) == (
        "92.50",
        "25.00",
        "50.00",
        "3.50",
    )
    assert (first["patient_share"], first["payer_share"]) == ("78.50", "14.00")
    assert (second["allowed"], second["copay"], second["deductible"], second["coinsurance"]) == (
        "6.20",
        "0.00",
        "0.00",
        "1.24",
    )
    assert result["patient_responsibility"] == "79.74" and result["payer_responsibility"] == "18.96"
    assert result["deductible_remaining_after"] == "0.00"
    assert "coinsurance = 20% x (67.50 - 50.00 = 17.50) = 3.50" in first["steps"]
    # The out-of-pocket maximum caps the patient's share.
    capped = compute(lines, Benefits(Decimal("25.00"), Decimal("50.00"), Decimal("20"), Decimal("60.00")))
    assert capped["patient_responsibility"] == "60.00" and capped["payer_responsibility"] == "38.70"
