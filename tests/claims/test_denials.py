"""Denials on the real broker: what the 835 said (group code, CARC, RARCs) reaches the work
queue and claim.denied, with an action that respects the group code and says why, and the
appeal letter carries what the payer needs to find the claim.

The remittance is the 835 (005010X221A1) as the payments service reads it: the test builds the
file, reads it with payments' own reader and posting rules, and publishes the payment.posted
that payments publishes for it (payments' own test covers its HTTP and Kafka path).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.payments.postings import domain as postings
from services.payments.remittances.x12 import parse_835
from shared import x12
from shared.events.catalogue import Adjustment, PaymentPosted
from tests.claims.conftest import claims_service
from tests.claims.helpers import (
    get_claim_if,
    make_claim,
    post_submitted_claim,
    publish,
    read_event,
)
from tests.conftest import end_offsets, eventually, token, unique
from tests.payments.helpers import make_835, make_clp, make_svc

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now")
RW = token("claims:read", "claims:write")


def make_posted_from_835(claim: dict[str, Any], text: str) -> PaymentPosted:
    """payment.posted exactly as payments publishes it for this claim's CLP of the 835."""
    (remittance,) = parse_835(text)
    (clp,) = remittance.claims
    ref = postings.RemittanceRef(uuid.uuid4(), claim["payer_id"], remittance.trace_number, "ach")
    target = postings.Target(uuid.UUID(claim["id"]), claim["patient_id"])
    event = postings.payment_posted(uuid.uuid4(), ref, clp, target, datetime.now(UTC))
    assert isinstance(event.data, PaymentPosted)
    return event.data


def make_payment(
    claim: dict[str, Any], adjustments: list[tuple[str, str, str]], **more: Any
) -> PaymentPosted:
    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="insurer",
        claim_id=uuid.UUID(claim["id"]),
        account_id=claim["patient_id"],
        amount=Decimal("0.00"),
        method="eft",
        posted_at=datetime.now(UTC),
        payer_id=claim["payer_id"],
        patient_control_number=claim["patient_control_number"],
        claim_status_code="4",
        charge=Decimal(claim["total_charge"]),
        adjustments=[Adjustment(group_code=g, reason_code=r, amount=Decimal(a)) for g, r, a in adjustments],
        trace_number=unique("trn"),
        **more,
    )


async def get_denial(client: Any, claim_id: str) -> dict[str, Any] | None:
    items = (await client.get("/v1/denials", params={"claim_id": claim_id}, headers=RW)).json()["items"]
    return items[0] if items else None


async def test_claim_and_line_remark_codes_of_the_835_reach_the_denial(claims, settings, servers, producer):
    start = await end_offsets(servers.kafka_bootstrap, "claim.denied")
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        # 835 loop 2100 CLP (denied) with MOA03/MOA04 claim remarks; loop 2110 per line:
        # 99213 denied CO-197 with LQ*HE*M62, 93000 denied CO-16 with LQ*HE*N290.
        clp = make_clp(claim["patient_control_number"], "4", "175.00", "0.00", pccn="ICN-RARC-2")
        clp.append(x12.seg("MOA", "", "", "MA01", "MA18"))
        clp += make_svc("HC:99213:25", "125.00", "0.00", [("CO", "197", "125.00")])
        clp.append(x12.seg("LQ", "HE", "M62"))
        clp += make_svc("HC:93000:59", "50.00", "0.00", [("CO", "16", "50.00")])
        clp.append(x12.seg("LQ", "HE", "N290"))
        posted = make_posted_from_835(claim, make_835(unique("TRN"), [clp], amount="0.00"))
        await publish(producer, posted)

        await eventually(lambda: get_claim_if(client, claim["id"], "denied"))
        denial = await eventually(lambda: get_denial(client, claim["id"]))
        assert denial["remark_codes"] == ["MA01", "MA18", "M62", "N290"]
        # CO-197 is the largest; M62 says the authorization number was missing from the claim.
        assert (denial["group_code"], denial["reason_code"]) == ("CO", "197")
        assert denial["action"] == "correct_and_resubmit" and "M62" in denial["why"]
        event = await read_event(servers.kafka_bootstrap, "claim.denied", start, claim["id"])
        assert event["remark_codes"] == ["MA01", "MA18", "M62", "N290"]
        assert event["action"] == "correct_and_resubmit" and event["why"] == denial["why"]


async def test_a_contractual_denial_is_not_billed_to_the_patient(claims, settings, producer):
    async with claims() as (_, client):
        co = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        pr = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        await publish(producer, make_payment(co, [("CO", "96", "175.00")], remark_codes=["N130"]))
        await publish(producer, make_payment(pr, [("PR", "96", "175.00")]))
        co_denial = await eventually(lambda: get_denial(client, co["id"]))
        pr_denial = await eventually(lambda: get_denial(client, pr["id"]))
        assert co_denial["action"] != "bill_patient"
        assert co_denial["action"] == "write_off" and "CO" in co_denial["why"]
        assert pr_denial["action"] == "bill_patient" and "PR" in pr_denial["why"]
        # The queue filters by the new action, too.
        other = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        await publish(producer, make_payment(other, [("CO", "22", "175.00")]))
        await eventually(lambda: get_denial(client, other["id"]))
        queue = await client.get(
            "/v1/denials", params={"action": "bill_other_payer", "claim_id": other["id"]}, headers=RW
        )
        assert [d["claim_id"] for d in queue.json()["items"]] == [other["id"]]


async def test_a_timely_filing_appeal_letter_finds_the_claim_and_argues_the_filing(
    settings, producer, capsys
):
    logging_settings = settings.model_copy(update={"log_level": "INFO"})
    async with claims_service(logging_settings) as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        await publish(
            producer, make_payment(claim, [("CO", "29", "175.00")], payer_claim_control_number="ICN-TF-29")
        )
        await eventually(lambda: get_claim_if(client, claim["id"], "denied"))
        appeal = await client.post(
            f"/v1/claims/{claim['id']}/appeals",
            json={"facts": ["The clearinghouse acceptance report is enclosed."], "signer": "Dana Billing"},
            headers=RW,
        )
        assert appeal.status_code == 201, appeal.text
        letter = appeal.json()["letter"]
        for cited in (
            "Doe, Jane",
            "1980-02-03",
            "SBX10001",
            "ICN-TF-29",
            claim["patient_control_number"],
            claim["date_of_service"],
            "99213-25",
            "93000-59",
            "CO-29 (The time limit for filing has expired.)",
            f"first submitted on {claim['submitted_at'][:10]}",
            "within your 180-day filing limit",
        ):
            assert cited in letter, (cited, letter)
        assert "medically necessary" not in letter
    # The PHI in the letter is for the payer, never for the logs.
    logged = capsys.readouterr().out
    assert '"route": "/v1/claims/{claim_id}/appeals"' in logged
    assert "SBX10001" not in logged and "1980-02-03" not in logged and "Doe" not in logged
