"""The report endpoints the billing manager's view (`make demo`) reads: each counts what a
visit did. Other work may run on the same platform meanwhile, so the checks are on growth
of at least this visit's share, never on exact totals."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests.e2e.platform import (
    DEADLINE,
    claim_in,
    encounter,
    eventually,
    generated_member,
    get_json,
    publish,
    register_patient,
)

pytestmark = pytest.mark.usefixtures("platform")


async def reports(http: httpx.AsyncClient) -> dict:
    return {
        "kpis": await get_json(http, "claims", "/v1/reports/kpis"),
        "aging": await get_json(http, "claims", "/v1/reports/ar-aging"),
        "collections": await get_json(http, "payments", "/v1/reports/collections"),
        "deliveries": await get_json(http, "notifications", "/v1/reports/deliveries"),
    }


async def test_reports_count_a_paid_visit(http: httpx.AsyncClient, producer: AIOKafkaProducer) -> None:
    before = await reports(http)
    visit = encounter(generated_member(), [("99213", "150.00"), ("36415", "15.00")])
    await register_patient(http, visit.patient_id)
    await publish(producer, visit)
    claim = await claim_in(http, ("paid", "partial", "denied"), encounter_id=visit.encounter_id)
    assert claim["status"] == "paid"

    async def emailed() -> dict | None:
        now = await get_json(http, "notifications", "/v1/reports/deliveries")
        sent = lambda r: r["by_channel"].get("email", {}).get("sent", 0)  # noqa: E731
        return now if sent(now) > sent(before["deliveries"]) else None

    deliveries = await eventually(emailed, timeout=DEADLINE, what="the patient's email counted as sent")
    assert deliveries["by_template"].get("insurance_processed", 0) > before["deliveries"]["by_template"].get(
        "insurance_processed", 0
    )
    assert deliveries["by_audience"]["patient"] > before["deliveries"]["by_audience"].get("patient", 0)
    after = await reports(http)

    kpis, was = after["kpis"], before["kpis"]
    assert kpis["claims_created"] > was["claims_created"]
    assert kpis["claims_submitted"] > was["claims_submitted"]
    assert kpis["claims_by_status"]["paid"] > was["claims_by_status"].get("paid", 0)
    assert sum(kpis["claims_by_status"].values()) == kpis["claims_created"]
    assert 0 <= kpis["clean_claim_rate"]["rate"] <= 1

    money = lambda r, k: Decimal(r["collections"][k])  # noqa: E731
    assert money(after, "charges") - money(before, "charges") >= Decimal("165.00")
    assert money(after, "insurance_payments") - money(before, "insurance_payments") >= Decimal(
        claim["paid_amount"]
    )
    assert money(after, "transferred_to_patient") - money(before, "transferred_to_patient") >= Decimal(
        claim["patient_responsibility"]
    )
    assert 0 < after["collections"]["net_collection_rate"] <= 1
    assert set(after["aging"]["total"]) == {"claims", "balance"}


async def test_report_ranges_are_validated(http: httpx.AsyncClient) -> None:
    from tests.e2e.platform import AUTH, URLS

    for service, path, params in (
        ("notifications", "/v1/reports/deliveries", {"date_from": "2026-02-01", "date_to": "2026-01-01"}),
        ("payments", "/v1/reports/collections", {"date_from": "2026-02-01", "date_to": "2026-01-01"}),
    ):
        resp = await http.get(URLS[service] + path, params=params, headers=AUTH)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
