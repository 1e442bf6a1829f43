"""A claim's status follows the payer's reversals (issue 15, item 6).

835 005010X221A1 loop 2100 CLP02 = 22, "Reversal of Previous Payment": the payer takes its
adjudication of the claim back (CLP01 and CLP07 name the reversed claim, every amount
negated). The corrected adjudication usually follows in the same 835, so under the same
TRN02, as a CLP of its own. After the reversal the claim is open again, awaiting that
corrected adjudication, and counts in A/R again; the correction applies although it shares
the reversed payment's trace number; a redelivered payment.posted (the same payment_id)
applies once.

Events here are what payments publishes for an 835's CLPs (payment.posted).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

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


async def get_open_ar(client: Any, payer_id: str = "SBX001") -> Decimal:
    kpis = (await client.get("/v1/reports/kpis", params={"payer_id": payer_id}, headers=RW)).json()
    return Decimal(kpis["open_ar"])


def statuses(claim: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(h["to_status"], h["reason"]) for h in claim["history"]]


async def test_a_reversal_reopens_the_claim_and_the_correction_under_the_same_trace_applies_once(
    claims, settings, producer
):
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        ccn, trace = unique("ICN").upper(), unique("TRN")
        paid = make_insurer_payment(claim, paid="140.00", ccn=ccn, adjustments=[("CO", "45", "35.00")])
        paid = paid.model_copy(update={"trace_number": trace})
        await publish(producer, paid)
        await eventually(lambda: get_claim_if(client, claim["id"], "paid"))
        settled = await get_open_ar(client)

        # The payer reverses its payment (CLP02 = 22, amounts negated) ...
        reversal = make_insurer_payment(
            claim,
            paid="-140.00",
            status_code="22",
            ccn=ccn,
            charge="-175.00",
            adjustments=[("CO", "45", "-35.00")],
        ).model_copy(update={"trace_number": trace})
        await publish(producer, reversal)
        reopened = await eventually(
            lambda: get_claim_if(client, claim["id"], "accepted"), what="the claim reopened by the reversal"
        )
        assert reopened["history"][-1]["reason"] == "835 reversal"
        assert reopened["history"][-1]["from_status"] == "paid"
        assert await get_open_ar(client) == settled + Decimal("175.00")  # the payer owes it all again

        # ... and adjudicates it again in the same 835 (same TRN02): that applies.
        correction = make_insurer_payment(
            claim, paid="150.00", ccn=ccn, adjustments=[("CO", "45", "25.00")]
        ).model_copy(update={"trace_number": trace})
        await publish(producer, correction)
        corrected = await eventually(
            lambda: get_claim_if(client, claim["id"], "paid"), what="the corrected adjudication applied"
        )
        assert corrected["paid_amount"] == "150.00"
        assert await get_open_ar(client) == settled

        # The same payment.posted delivered again (same payment_id, another event id) applies once;
        # a second reversal behind it (same key, so handled after it) shows the replay was handled.
        await publish(producer, correction)
        again = make_insurer_payment(
            claim,
            paid="-150.00",
            status_code="22",
            ccn=ccn,
            charge="-175.00",
            adjustments=[("CO", "45", "-25.00")],
        )
        await publish(producer, again)
        final = await eventually(lambda: get_claim_if(client, claim["id"], "accepted"))
        assert [s for s, _ in statuses(final)][-5:] == ["submitted", "paid", "accepted", "paid", "accepted"]
        assert [r for _, r in statuses(final)].count("835 reversal") == 2


async def test_a_reversal_of_a_replaced_claim_leaves_it_to_its_replacement(claims, settings, producer):
    """A corrected claim (frequency 7) was sent: the reversal of the original is the payer's
    answer to it, so the original stays closed and the replacement carries the visit."""
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        ccn = unique("ICN").upper()
        await publish(
            producer,
            make_insurer_payment(
                claim, paid="80.00", ccn=ccn, adjustments=[("CO", "45", "45.00"), ("CO", "16", "50.00")]
            ),
        )
        await eventually(lambda: get_claim_if(client, claim["id"], "partial"))
        corrected = await client.post(
            f"/v1/claims/{claim['id']}/corrections", json={"diagnoses": ["E11.9", "I10", "Z79.4"]}, headers=RW
        )
        assert corrected.status_code == 201, corrected.text
        reversal = make_insurer_payment(
            claim,
            paid="-80.00",
            status_code="22",
            ccn=ccn,
            charge="-175.00",
            adjustments=[("CO", "45", "-45.00"), ("CO", "16", "-50.00")],
        )
        await publish(producer, reversal)

        async def reversed_() -> bool:
            found = await get_claim(client, claim["id"])
            return (found["adjudication"] or {}).get("reversed_by") == str(reversal.payment_id)

        await eventually(reversed_, what="the reversal handled")
        assert (await get_claim(client, claim["id"]))["status"] == "closed"
