"""A void (837P 005010X222A1 loop 2300 CLM05-3 = 8, REF*F8 the payer's claim control number of
the claim it voids) and a replacement (CLM05-3 = 7) are answered on the 835 (005010X221A1):
the payer reverses the original (CLP02 = 22, CLP01 the original's patient control number,
CLP07 its payer claim control number, amounts negated), and some payers answer the void
itself with a zero payment. Either answer ends both: the void is closed and the original is
voided; neither waits in follow-ups or counts in A/R. A void asks for no money, so it never
counts in A/R. A replacement the payer paid leaves its original `replaced` for good: a late
copy of the original's first 835 does not reopen it.

Events here are what the payments service publishes for an 835's CLP (payment.posted), and
the last test takes the payer sandbox's own 835 for a void."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared import x12
from shared.events.catalogue import Adjustment, PaymentPosted
from tests.claims.cob import x12_837_errors
from tests.claims.helpers import (
    get_claim,
    get_claim_if,
    make_acknowledgment,
    make_claim,
    make_insurer_payment,
    post_submitted_claim,
    publish,
)
from tests.conftest import eventually, running_clearinghouse, token, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now")
RW = token("claims:read", "claims:write")


async def get_open_ar(client: Any) -> Decimal:
    kpis = (await client.get("/v1/reports/kpis", params={"payer_id": "SBX001"}, headers=RW)).json()
    return Decimal(kpis["open_ar"])


async def get_followup_ids(client: Any) -> list[str]:
    later = (datetime.now(UTC) + timedelta(days=90)).isoformat()
    page = (await client.get("/v1/followups", params={"as_of": later, "limit": 1000}, headers=RW)).json()
    return [f["claim_id"] for f in page["items"]]


async def post_void(client: Any, claim: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(f"/v1/claims/{claim['id']}/void", headers=RW)
    assert answer.status_code == 201, answer.text
    void = answer.json()
    edi = (await client.get(f"/v1/claims/{void['id']}/837", headers=RW)).text
    assert ":B:8*" in edi and f"REF*F8*{void['data']['original_payer_claim_control_number']}~" in edi
    assert x12_837_errors(edi) == []
    return void


async def post_paid_claim(client: Any, settings: Any, producer: Any, ccn: str) -> dict[str, Any]:
    claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
    await publish(producer, make_acknowledgment(claim, ccn))
    await publish(
        producer, make_insurer_payment(claim, paid="140.00", ccn=ccn, adjustments=[("CO", "45", "35.00")])
    )
    return await eventually(lambda: get_claim_if(client, claim["id"], "paid"))


async def test_the_payers_reversal_of_the_original_answers_a_void_and_closes_both(claims, settings, producer):
    async with claims() as (_, client):
        ccn = unique("ICN").upper()
        claim = await post_paid_claim(client, settings, producer, ccn)
        before = await get_open_ar(client)
        void = await post_void(client, claim)
        assert await get_open_ar(client) == before  # a void asks for no money
        await publish(producer, make_acknowledgment(void, ccn))
        await eventually(lambda: get_claim_if(client, void["id"], "accepted"))

        reversal = make_insurer_payment(
            claim,
            paid="-140.00",
            status_code="22",
            ccn=ccn,
            charge="-175.00",
            adjustments=[("CO", "45", "-35.00")],
        )
        await publish(producer, reversal)
        closed = await eventually(lambda: get_claim_if(client, void["id"], "closed"), what="the void closed")
        assert closed["history"][-1]["actor"].startswith("event:payment.posted.v1:")
        original = await get_claim(client, claim["id"])
        assert original["status"] == "voided"
        assert original["history"][-1]["reason"].startswith(f"voided by {void['patient_control_number']}")
        assert original["paid_amount"] == "140.00"  # what it was paid; the reversal is money's business
        assert void["id"] not in await get_followup_ids(client)
        assert await get_open_ar(client) == before


async def test_a_zero_payment_on_the_voids_own_number_answers_it_too(claims, settings, producer):
    async with claims() as (_, client):
        ccn = unique("ICN").upper()
        claim = await post_paid_claim(client, settings, producer, ccn)
        void = await post_void(client, claim)
        # The 835 may come before the 277CA: the void is still `submitted`.
        await publish(producer, make_insurer_payment(void, paid="0.00", ccn=ccn))
        closed = await eventually(lambda: get_claim_if(client, void["id"], "closed"), what="the void closed")
        assert closed["paid_amount"] is None
        assert (await get_claim(client, claim["id"]))["status"] == "voided"
        denials = (await client.get("/v1/denials", params={"claim_id": void["id"]}, headers=RW)).json()
        assert denials["items"] == []
        assert void["id"] not in await get_followup_ids(client)


async def test_a_paid_replacement_leaves_the_original_replaced_for_good(claims, settings, producer):
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        ccn = unique("ICN").upper()
        first_835 = make_insurer_payment(
            claim, paid="80.00", ccn=ccn, adjustments=[("CO", "45", "45.00"), ("CO", "16", "50.00")]
        )
        await publish(producer, first_835)
        await eventually(lambda: get_claim_if(client, claim["id"], "partial"))
        corrected = await client.post(
            f"/v1/claims/{claim['id']}/corrections", json={"diagnoses": ["E11.9", "I10", "Z79.4"]}, headers=RW
        )
        assert corrected.status_code == 201, corrected.text
        replacement = corrected.json()
        assert (
            x12_837_errors((await client.get(f"/v1/claims/{replacement['id']}/837", headers=RW)).text) == []
        )

        await publish(
            producer,
            make_insurer_payment(
                claim,
                paid="-80.00",
                status_code="22",
                ccn=ccn,
                charge="-175.00",
                adjustments=[("CO", "45", "-45.00"), ("CO", "16", "-50.00")],
            ),
        )
        await publish(
            producer,
            make_insurer_payment(
                replacement, paid="140.00", ccn=unique("ICN").upper(), adjustments=[("CO", "45", "35.00")]
            ),
        )
        await eventually(lambda: get_claim_if(client, replacement["id"], "paid"))
        original = await eventually(
            lambda: get_claim_if(client, claim["id"], "replaced"), what="original replaced"
        )
        assert replacement["patient_control_number"] in original["history"][-1]["reason"]

        # A late copy of the original's first 835 (another trace number) changes nothing.
        late = first_835.model_copy(update={"payment_id": uuid.uuid4(), "trace_number": unique("TRN")})
        await publish(producer, late)
        barrier = make_insurer_payment(claim, paid="-80.00", status_code="22", ccn=ccn, charge="-175.00")
        await publish(producer, barrier)  # same key (claim id), so handled after the late copy
        await eventually(
            lambda: _reversed_by(client, claim["id"], str(barrier.payment_id)), what="the barrier handled"
        )
        after = await get_claim(client, claim["id"])
        assert (after["status"], after["paid_amount"]) == ("replaced", "80.00")


async def _reversed_by(client: Any, claim_id: str, payment_id: str) -> bool:
    claim = await get_claim(client, claim_id)
    return (claim["adjudication"] or {}).get("reversed_by") == payment_id


def make_payment_from_835_clp(text: str, pcn: str, claim: dict[str, Any]) -> PaymentPosted:
    """payment.posted for the CLP of the sandbox's 835 about `pcn`, as payments would post it
    (a reversal is posted to the claim it reverses)."""
    segments = x12.parse(text, expect="835").transactions[0].segments
    start = next(i for i, s in enumerate(segments) if s.id == "CLP" and s.get(1) == pcn)
    clp = segments[start]
    adjustments = []
    for seg in segments[start + 1 :]:
        if seg.id in ("CLP", "SE", "PLB"):
            break
        if seg.id == "CAS":
            adjustments += [
                Adjustment(group_code=seg.get(1), reason_code=seg.get(k), amount=Decimal(seg.get(k + 1)))
                for k in range(2, 19, 3)
                if seg.get(k)
            ]
    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="insurer",
        claim_id=uuid.UUID(claim["id"]),
        account_id=claim["patient_id"],
        amount=Decimal(clp.get(4)),
        method="eft",
        posted_at=datetime.now(UTC),
        payer_id="SBX001",
        patient_control_number=pcn,
        payer_claim_control_number=clp.get(7),
        claim_status_code=clp.get(2),
        charge=Decimal(clp.get(3)),
        patient_responsibility=Decimal(clp.get(5) or "0"),
        adjustments=adjustments,
        trace_number=next(s.get(2) for s in segments if s.id == "TRN"),
    )


def the_835_with(sandbox: Any, marker: str) -> str | None:
    """The newest of the sandbox's 835s that contains `marker`."""
    for remittance in reversed(sandbox.pipeline.remittances):
        if marker in remittance.x12_835:
            return remittance.x12_835
    return None


async def test_a_void_through_the_payer_sandbox_closes_it_and_voids_the_original(
    claims, settings, servers, producer
):
    prefix = unique("void")
    async with (
        running_clearinghouse(settings) as sandbox,
        claims() as (_, client),
    ):
        claim = await post_submitted_claim(client, settings, make_claim(f"{prefix}-pat"))
        pcn = claim["patient_control_number"]
        await eventually(lambda: get_claim_if(client, claim["id"], "accepted"), timeout=40)
        paid_835 = await eventually(lambda: the_835_with(sandbox, f"CLP*{pcn}*1*"), timeout=40)
        await publish(producer, make_payment_from_835_clp(paid_835, pcn, claim))
        paid = await eventually(lambda: get_claim_if(client, claim["id"], "paid", "partial"))

        void = await post_void(client, paid)
        assert void["data"]["original_payer_claim_control_number"] == paid["payer_claim_control_number"]
        await eventually(lambda: get_claim_if(client, void["id"], "accepted"), timeout=40)  # its 277CA
        reversal_835 = await eventually(lambda: the_835_with(sandbox, f"CLP*{pcn}*22*"), timeout=40)
        assert (
            f"CLP*{void['patient_control_number']}*" not in reversal_835
        )  # the payer answers on the original
        await publish(producer, make_payment_from_835_clp(reversal_835, pcn, claim))
        await eventually(lambda: get_claim_if(client, void["id"], "closed"), what="the void closed")
        assert (await get_claim(client, claim["id"]))["status"] == "voided"
