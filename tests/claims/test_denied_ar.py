"""Claims' A/R is what the payers still owe, computed as payments computes its insurance
bucket (issue 15, item 5): charge - paid - the adjustments that are not denials (CO-45,
CO-253 contractual; PR-1/2/3 cost sharing, which is the patient's) following reversals, voids
and replacements. A denied amount (835 CAS, e.g. CO-16, CO-197) stays in A/R until it is
worked; a write-off (approved in payments) or billing the patient (PR only) moves money, so
payments does it and tells claims (denial.resolved), which closes the claim out of A/R.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.events.catalogue import DenialResolved
from tests.claims.helpers import (
    get_claim,
    get_claim_if,
    make_claim,
    make_insurer_payment,
    post_submitted_claim,
    publish,
)
from tests.conftest import eventually, token, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now")
RW = token("claims:read", "claims:write")
D = Decimal


async def get_open_ar(client: Any, payer_id: str = "SBX001") -> D:
    kpis = (await client.get("/v1/reports/kpis", params={"payer_id": payer_id}, headers=RW)).json()
    return D(kpis["open_ar"])


async def get_aging_total(client: Any, payer_id: str = "SBX001") -> D:
    report = (await client.get("/v1/reports/ar-aging", headers=RW)).json()
    return next((D(p["total"]["balance"]) for p in report["payers"] if p["payer_id"] == payer_id), D(0))


async def test_open_ar_is_what_the_payer_still_owes_denials_included(claims, settings, producer):
    async with claims() as (_, client):
        before, aging_before = await get_open_ar(client), await get_aging_total(client)
        paid, partial, denied = [
            await post_submitted_claim(client, settings, make_claim(unique("pat"))) for _ in range(3)
        ]
        assert await get_open_ar(client) - before == D("525.00")  # three claims of 175.00 sent
        await publish(
            producer,
            make_insurer_payment(
                paid, paid="115.00", adjustments=[("CO", "45", "35.00"), ("PR", "3", "25.00")]
            ),
        )
        await publish(
            producer,
            make_insurer_payment(
                partial, paid="80.00", adjustments=[("CO", "45", "45.00"), ("CO", "16", "50.00")]
            ),
        )
        await publish(
            producer,
            make_insurer_payment(denied, paid="0.00", status_code="4", adjustments=[("CO", "197", "175.00")]),
        )
        await eventually(lambda: get_claim_if(client, paid["id"], "paid"))
        await eventually(lambda: get_claim_if(client, partial["id"], "partial"))
        await eventually(lambda: get_claim_if(client, denied["id"], "denied"))
        # Paid: nothing left (CO-45 written down, PR-3 the patient's). Partial: the CO-16 denial.
        # Denied: all of it, until worked.
        assert await get_open_ar(client) - before == D("225.00")
        assert await get_aging_total(client) - aging_before == D("225.00")
        claim = await get_claim(client, partial["id"])
        assert (claim["insurance_balance"], claim["insurance_denied"]) == ("50.00", "50.00")


async def test_a_write_off_approved_in_payments_closes_the_claim_out_of_ar(claims, settings, producer):
    async with claims() as (_, client):
        before = await get_open_ar(client)
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        await publish(
            producer,
            make_insurer_payment(claim, paid="0.00", status_code="4", adjustments=[("CO", "197", "175.00")]),
        )
        await eventually(lambda: get_claim_if(client, claim["id"], "denied"))
        assert await get_open_ar(client) - before == D("175.00")
        # Money moves in payments; a person's "written off" in claims would leave both A/Rs apart.
        (denial,) = (await client.get("/v1/denials", params={"claim_id": claim["id"]}, headers=RW)).json()[
            "items"
        ]
        refused = await client.post(
            f"/v1/denials/{denial['id']}/resolve", json={"resolution": "written_off"}, headers=RW
        )
        assert refused.status_code == 409 and refused.json()["type"].endswith("/resolve-in-payments")

        await publish(
            producer,
            DenialResolved(
                claim_id=uuid.UUID(claim["id"]),
                account_id=claim["patient_id"],
                payer_id="SBX001",
                resolution="written_off",
                amount=D("175.00"),
                resolved_at=datetime.now(UTC),
                approval_id=uuid.uuid4(),
            ),
        )
        closed = await eventually(lambda: get_claim_if(client, claim["id"], "closed"))
        assert closed["history"][-1]["reason"].startswith("denial written off in payments")
        assert await get_open_ar(client) == before
        worked = (
            await client.get(
                "/v1/denials", params={"claim_id": claim["id"], "status": "resolved"}, headers=RW
            )
        ).json()
        assert worked["items"][0]["resolution"].startswith("written_off")
