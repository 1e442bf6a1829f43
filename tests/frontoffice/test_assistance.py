"""Financial assistance policy and screening: guideline years as data, tiers by effective date,
a screening's percent, tier and why (real PostgreSQL through the front office app)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from services.frontoffice.assistance import domain
from tests.conftest import token
from tests.frontoffice.helpers import (
    CLERK,
    MANAGER,
    SLIDING_SCALE,
    make_screening,
    post_screening,
    put_policy,
)

DATA = Path(__file__).resolve().parents[2] / "services" / "frontoffice" / "data"
# A made-up year far from real ones, so the test's loads never meet a real year's figures.
FICTIONAL = {
    "year": 2091,
    "effective_date": "2091-01-10",
    "source": "test figures",
    "regions": {"contiguous": {"sizes": ["20000", "30000"], "additional_person": "10000"}},
}


# --- the rules, without I/O --------------------------------------------------------------------


def test_the_shipped_2025_file_is_the_hhs_table() -> None:
    doc = json.loads((DATA / "fpg-2025.json").read_text())
    regions = doc["regions"]
    assert doc["year"] == 2025 and "2025-01377" in doc["source"]
    assert domain.guideline_for(regions, "contiguous", 1) == Decimal("15650")
    assert domain.guideline_for(regions, "contiguous", 3) == Decimal("26650")
    assert domain.guideline_for(regions, "AK", 1) == Decimal("19550")
    assert domain.guideline_for(regions, "HI", 1) == Decimal("17990")
    for region, first, extra in (("contiguous", 15650, 5500), ("AK", 19550, 6880), ("HI", 17990, 6330)):
        for size in range(1, 12):  # the printed 8 sizes, then the per-person rule
            assert domain.guideline_for(regions, region, size) == Decimal(first + extra * (size - 1))


def test_poverty_percent_rounds_half_up_to_two_places() -> None:
    assert domain.poverty_percent(Decimal("39975.00"), Decimal("26650")) == Decimal("150.00")
    # 1/8 % = 0.125 → 0.13 half up (banker's rounding would give 0.12)
    assert domain.poverty_percent(Decimal("1.25"), Decimal("1000")) == Decimal("0.13")


def test_a_tier_holds_its_upper_bound_and_not_the_next_cent() -> None:
    assert domain.choose_tier(SLIDING_SCALE, Decimal("200.00")).tier == "full"
    choice = domain.choose_tier(SLIDING_SCALE, Decimal("200.01"))
    assert (choice.tier, choice.discount_percent, choice.above, choice.up_to) == (
        "three_quarters",
        Decimal("75.00"),
        Decimal("200.00"),
        Decimal("300.00"),
    )
    beyond = domain.choose_tier(SLIDING_SCALE, Decimal("400.01"))
    assert (beyond.tier, beyond.discount_percent, beyond.up_to) == ("none", Decimal("0.00"), None)


# --- the API -----------------------------------------------------------------------------------


async def test_a_household_at_150_percent_gets_the_first_tier_and_why(frontoffice) -> None:
    async with frontoffice() as (_, client):
        assert (await put_policy(client)).status_code in (200, 201)  # other tests may set it first
        resp = await post_screening(client, make_screening())
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert body["poverty_percent"] == "150.00"
        assert (body["tier"], body["discount_percent"]) == ("full", "100.00")
        why = body["why"]
        assert why["guidelines_year"] == 2025 and why["guideline_amount"] == "26650.00"
        assert (why["tier_above_percent"], why["tier_up_to_percent"]) == (None, "200.00")
        assert "150.00 % of the 2025 poverty guideline ($26,650.00" in why["explanation"]
        again = await client.get(f"/v1/assistance/screenings/{body['id']}", headers=CLERK)
        assert again.status_code == 200 and again.json()["why"] == why


async def test_alaska_and_hawaii_use_their_own_columns(frontoffice) -> None:
    async with frontoffice() as (_, client):
        await put_policy(client)
        ak = (
            await post_screening(client, make_screening(state="AK", household_size=1, annual_income="39100"))
        ).json()
        hi = (
            await post_screening(client, make_screening(state="HI", household_size=1, annual_income="17990"))
        ).json()
    assert (ak["why"]["region"], ak["why"]["guideline_amount"], ak["poverty_percent"]) == (
        "AK",
        "19550.00",
        "200.00",
    )
    assert (hi["why"]["region"], hi["poverty_percent"], hi["tier"]) == ("HI", "100.00", "full")


async def test_each_guideline_year_is_a_version_used_from_its_effective_date(frontoffice) -> None:
    async with frontoffice() as (_, client):
        first = await client.post("/v1/assistance/guidelines", json=FICTIONAL, headers=MANAGER)
        assert first.status_code in (200, 201), first.text  # 200 when an earlier run loaded it
        again = await client.post("/v1/assistance/guidelines", json=FICTIONAL, headers=MANAGER)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        changed = {
            **FICTIONAL,
            "regions": {"contiguous": {"sizes": ["20001", "30000"], "additional_person": "1"}},
        }
        refused = await client.post("/v1/assistance/guidelines", json=changed, headers=MANAGER)
        assert refused.status_code == 409 and refused.json()["type"].endswith("guidelines-year-loaded")
        await put_policy(client, effective="2091-01-01")
        # 2091-01-09: the 2091 year is not in force yet, the latest before it is
        before = await post_screening(
            client, make_screening(screening_date="2091-01-09", annual_income="30000")
        )
        during = await post_screening(client, make_screening(screening_date="2091-01-10", household_size=4))
        years = await client.get("/v1/assistance/guidelines", headers=CLERK)
    assert before.json()["why"]["guidelines_year"] < 2091
    # household of 4 beyond the 2 printed sizes: 30000 + 2 * 10000 = 50000; 39975 / 50000 = 79.95 %
    assert (during.json()["why"]["guidelines_year"], during.json()["why"]["guideline_amount"]) == (
        2091,
        "50000.00",
    )
    assert during.json()["poverty_percent"] == "79.95"
    assert {2025, 2091} <= {item["year"] for item in years.json()["items"]}


async def test_the_policy_in_force_is_the_latest_effective_one(frontoffice) -> None:
    generous = [{"tier": "all", "up_to_percent": None, "discount_percent": "100.00"}]
    async with frontoffice() as (_, client):
        await put_policy(client, effective="2025-01-01")
        await put_policy(client, generous, effective="2025-07-01")
        june = (await post_screening(client, make_screening(annual_income="200000"))).json()
        july = (
            await post_screening(client, make_screening(annual_income="200000", screening_date="2025-07-01"))
        ).json()
        as_of = await client.get("/v1/assistance/policy", params={"as_of": "2025-06-30"}, headers=CLERK)
    assert (june["tier"], june["discount_percent"], june["why"]["tier_above_percent"]) == (
        "none",
        "0.00",
        "400.00",
    )
    assert (july["tier"], july["why"]["policy_effective_date"]) == ("all", "2025-07-01")
    assert as_of.json()["effective_date"] == "2025-01-01"


async def test_a_retried_policy_adds_no_version(frontoffice) -> None:
    generous = [{"tier": "all", "up_to_percent": None, "discount_percent": "100.00"}]
    async with frontoffice() as (_, client):
        first = await put_policy(client, effective="2093-03-01")
        retry = await put_policy(client, effective="2093-03-01")
        changed = await put_policy(client, generous, effective="2093-03-01")
        in_force = await client.get("/v1/assistance/policy", params={"as_of": "2093-03-01"}, headers=CLERK)
    assert first.status_code == 201, first.text
    assert (retry.status_code, retry.json()["id"]) == (200, first.json()["id"])
    assert changed.status_code == 201 and changed.json()["id"] != first.json()["id"]
    assert in_force.json()["id"] == changed.json()["id"]


async def test_bad_policy_and_screening_input_is_a_problem_naming_the_field(frontoffice) -> None:
    falling = [
        {"tier": "a", "up_to_percent": "300.00", "discount_percent": "100"},
        {"tier": "b", "up_to_percent": "200.00", "discount_percent": "50"},
    ]
    async with frontoffice() as (_, client):
        bad_tiers = await put_policy(client, falling)
        no_guidelines = await post_screening(client, make_screening(screening_date="2001-01-01"))
        negative = await post_screening(client, make_screening(annual_income="-1"))
        clerk_sets_policy = await client.put(
            "/v1/assistance/policy",
            json={"effective_date": "2025-01-01", "tiers": SLIDING_SCALE},
            headers=CLERK,
        )
        no_token = await post_screening_without_token(client)
    assert bad_tiers.status_code == 422
    assert [(e["field"], e["rule"]) for e in bad_tiers.json()["errors"]] == [
        ("body.tiers[1].up_to_percent", "ascending")
    ]
    assert (
        no_guidelines.status_code == 409
        and no_guidelines.json()["errors"][0]["field"] == "body.screening_date"
    )
    assert (
        negative.status_code == 422
        and "39975" not in negative.text
        and "-1" not in json.dumps(negative.json()["errors"])
    )
    assert clerk_sets_policy.status_code == 403
    assert no_token.status_code == 401


async def post_screening_without_token(client) -> object:
    return await client.post("/v1/assistance/screenings", json=make_screening())


async def test_a_screening_is_audited_with_its_patient(frontoffice, admin) -> None:
    body = make_screening()
    async with frontoffice() as (_, client):
        await put_policy(client)
        created = (await post_screening(client, body)).json()
        await client.get(
            f"/v1/assistance/screenings/{created['id']}", headers=token("assistance:read", subject="reader")
        )
    rows = await admin.fetch(
        "SELECT actor, action FROM frontoffice.audit_log WHERE resource_id = $1 ORDER BY id", created["id"]
    )
    assert [(r["actor"], r["action"]) for r in rows] == [("fa-clerk", "create"), ("reader", "read")]
    patients = await admin.fetch(
        "SELECT DISTINCT patient_id FROM frontoffice.audit_log WHERE resource_id = $1", created["id"]
    )
    assert [r["patient_id"] for r in patients] == [body["patient_id"]]
