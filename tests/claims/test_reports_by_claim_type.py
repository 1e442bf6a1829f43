"""The KPIs split professional and institutional claims (issue 20, "Reports and KPIs split
professional and institutional"): `GET /v1/reports/kpis?by_claim_type=true` adds the two parts,
read from each claim's content (`data->>'claim_type'`, absent on claims made before issue 20:
professional), and the parts add up to the unchanged totals."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.claims.helpers import (
    get_claim_if,
    make_claim,
    make_eligibility,
    make_insurer_payment,
    make_recent_date,
    post_submitted_claim,
    publish,
    read_write,
)
from tests.conftest import eventually

# The denial below goes through the broker: the session's claims consumer must start at the end
# of its topics (the shared broker's backlog would hold it past the wait otherwise).
pytestmark = pytest.mark.usefixtures("claims_consumer_from_now")
RW = read_write()


def make_institutional_claim(patient_id: str, payer_id: str) -> dict[str, Any]:
    """An outpatient hospital visit (type of bill 0131): a metabolic panel under revenue code 0300."""
    dos = make_recent_date()
    body = make_claim(patient_id, payer_id=payer_id, place_of_service="22")
    body["claim_type"] = "institutional"
    body.pop("rendering_provider")
    body["attending_provider"] = {**make_claim()["rendering_provider"]}
    body["diagnoses"] = ["E11.9"]
    body["institutional"] = {
        "facility_type_code": "13",
        "statement_from": dos,
        "statement_to": dos,
        "patient_status": "01",
    }
    body["lines"] = [
        {
            "revenue_code": "0300",
            "code": "80053",
            "units": "1",
            "charge": "310.00",
            "date_of_service": dos,
            "diagnosis_pointers": [1],
        }
    ]
    return body


async def kpis(client: Any, payer_id: str, **params: Any) -> dict[str, Any]:
    today = date.today().isoformat()
    query = {"date_from": today, "date_to": today, "payer_id": payer_id, **params}
    answer = await client.get("/v1/reports/kpis", params=query, headers=RW)
    assert answer.status_code == 200, answer.text
    return answer.json()


def delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What this test added to one part: counts, charges, rate numerators and denominators."""
    out: dict[str, Any] = {}
    for key, value in after.items():
        if isinstance(value, int):
            out[key] = value - before[key]
        elif key == "charges":
            out[key] = Decimal(value) - Decimal(before[key])
        elif key == "claims_by_status":
            out[key] = {s: n - before[key].get(s, 0) for s, n in value.items() if n != before[key].get(s, 0)}
        elif key == "denial_rate_by_reason":
            # A reason new to this part had 0 of the part's adjudicated claims before (the
            # denominator is every adjudicated claim of the part, whatever other tests added).
            old = before[key]
            was = pair(before["denial_rate"])[1]
            out[key] = {
                r: (pair(v)[0], pair(v)[1] - was)
                if r not in old
                else (pair(v)[0] - pair(old[r])[0], pair(v)[1] - pair(old[r])[1])
                for r, v in value.items()
                if r not in old or pair(v) != pair(old[r])
            }
        elif isinstance(value, dict) and "numerator" in value:
            out[key] = (pair(value)[0] - pair(before[key])[0], pair(value)[1] - pair(before[key])[1])
    return out


def pair(r: dict[str, Any]) -> tuple[int, int]:
    return r["numerator"], r["denominator"]


async def test_kpis_split_professional_and_institutional_and_the_parts_add_up(
    claims, settings, producer, admin
):
    # SBX002: no other test counts its claims of today exactly; this one counts what it adds.
    payer_id = "SBX002"
    async with claims() as (_, client):
        before = (await kpis(client, payer_id, by_claim_type="true"))["by_claim_type"]
        assert set(before) == {"professional", "institutional"}
        # Professional: one waiting as a draft, one submitted and denied.
        draft = await client.post("/v1/claims", json=make_claim(payer_id=payer_id), headers=RW)
        assert draft.status_code == 201, draft.text
        denied = await post_submitted_claim(client, settings, make_claim(payer_id=payer_id))
        denial = make_insurer_payment(
            denied, paid="0.00", status_code="4", adjustments=[("CO", "50", "175.00")]
        )
        await publish(producer, denial)
        await eventually(lambda: get_claim_if(client, denied["id"], "denied"), what="denied")
        # Institutional: two outpatient visits.
        for _ in range(2):
            body = make_institutional_claim(f"pat-{uuid.uuid4().hex[:10]}", payer_id)
            await make_eligibility(
                settings, body["patient_id"], payer_id, body["lines"][0]["date_of_service"]
            )
            made = await client.post("/v1/claims", json=body, headers=RW)
            assert made.status_code == 201, made.text
        # A claim stored before issue 20 has no claim_type in its content: professional.
        legacy = (await client.post("/v1/claims", json=make_claim(payer_id=payer_id), headers=RW)).json()
        await admin.execute(
            "UPDATE claims.claims SET data = data - 'claim_type' WHERE id = $1", uuid.UUID(legacy["id"])
        )

        split = await kpis(client, payer_id, by_claim_type="true")
        plain = await kpis(client, payer_id)

    assert plain["by_claim_type"] is None  # only when asked: the totals read an index alone
    assert {k: v for k, v in split.items() if k != "by_claim_type"} == {
        k: v for k, v in plain.items() if k != "by_claim_type"
    }
    pro = delta(split["by_claim_type"]["professional"], before["professional"])
    inst = delta(split["by_claim_type"]["institutional"], before["institutional"])
    assert (pro["claims_created"], inst["claims_created"]) == (3, 2)
    assert (pro["claims_submitted"], inst["claims_submitted"]) == (1, 0)
    assert (pro["charges"], inst["charges"]) == (Decimal("525.00"), Decimal("620.00"))
    assert pro["claims_by_status"].get("denied") == 1 and "denied" not in inst["claims_by_status"]
    assert sum(inst["claims_by_status"].values()) == 2
    assert pro["denial_rate"] == (1, 1) and inst["denial_rate"] == (0, 0)
    assert pro["denial_rate_by_reason"].get("50") == (1, 1) and inst["denial_rate_by_reason"] == {}
    # The parts add up to the totals.
    parts = split["by_claim_type"].values()
    assert sum(p["claims_created"] for p in parts) == split["claims_created"]
    assert sum(p["claims_submitted"] for p in parts) == split["claims_submitted"]
    statuses: dict[str, int] = {}
    for part in parts:
        for status, n in part["claims_by_status"].items():
            statuses[status] = statuses.get(status, 0) + n
    assert statuses == split["claims_by_status"]
    for name in ("clean_claim_rate", "first_pass_resolution_rate", "denial_rate"):
        assert tuple(map(sum, zip(*(pair(p[name]) for p in parts), strict=True))) == pair(split[name])
