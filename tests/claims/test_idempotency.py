"""Idempotency-Key on the claims service's creating POSTs: a claim, a correction, a void,
an appeal. A client that retries after a timeout must not bill a patient twice (two claims
for one visit are a duplicate the payer denies, CO-18), nor send two voids.

The header is optional on these POSTs (as on payment plans and eligibility batches): when
given, the same key and body from the same caller within 24 hours answer the first
response (`Idempotent-Replayed: true`) and create nothing; the same key with another body
is a 422; keys are the caller's own. Without it, a POST is a new request."""

from __future__ import annotations

import pytest

from tests.claims.cob import x12_837_errors
from tests.claims.helpers import (
    count_claims,
    get_claim_if,
    make_acknowledgment,
    make_claim,
    make_insurer_payment,
    post_submitted_claim,
    publish,
)
from tests.conftest import eventually, token, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now")
RW = token("claims:read", "claims:write")


def with_key(key: str, headers: dict[str, str] = RW) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_two_identical_claim_posts_with_one_key_make_one_claim(claims, settings):
    async with claims(events=False) as (_, client):
        body = make_claim(unique("pat"))
        key = unique("key")
        first = await client.post("/v1/claims", json=body, headers=with_key(key))
        again = await client.post("/v1/claims", json=body, headers=with_key(key))
        assert (first.status_code, again.status_code) == (201, 201), again.text
        assert again.json()["id"] == first.json()["id"]
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.headers["Location"] == first.headers["Location"] == f"/v1/claims/{first.json()['id']}"
        assert await count_claims(settings, body["patient_id"]) == 1

        changed = await client.post(
            "/v1/claims", json={**body, "place_of_service": "22"}, headers=with_key(key)
        )
        assert changed.status_code == 422 and changed.json()["errors"][0]["field"] == "header.Idempotency-Key"
        someone_else = with_key(key, token("claims:read", "claims:write", subject="another-biller"))
        theirs = await client.post("/v1/claims", json=body, headers=someone_else)
        assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]  # keys are per caller
        assert (
            await client.post("/v1/claims", json=body, headers=RW)
        ).status_code == 201  # no key: new claim
        assert await count_claims(settings, body["patient_id"]) == 3


async def test_appeal_correction_and_void_posts_with_one_key_happen_once(claims, settings, producer):
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

        appeal = {"facts": ["The missing information was sent on request."]}
        key = unique("appeal")
        filed = await client.post(f"/v1/claims/{claim['id']}/appeals", json=appeal, headers=with_key(key))
        again = await client.post(f"/v1/claims/{claim['id']}/appeals", json=appeal, headers=with_key(key))
        assert (filed.status_code, again.status_code) == (201, 201), again.text
        assert again.json()["id"] == filed.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
        appeals = (await client.get(f"/v1/claims/{claim['id']}/appeals", headers=RW)).json()["items"]
        assert len(appeals) == 1

        change = {"diagnoses": ["E11.9", "I10", "Z79.4"]}
        key = unique("correction")
        corrected = await client.post(
            f"/v1/claims/{claim['id']}/corrections", json=change, headers=with_key(key)
        )
        again = await client.post(f"/v1/claims/{claim['id']}/corrections", json=change, headers=with_key(key))
        assert (corrected.status_code, again.status_code) == (201, 201), again.text
        replacement = corrected.json()
        assert again.json()["id"] == replacement["id"] and again.headers.get("Idempotent-Replayed") == "true"
        # Without the key, a second replacement of the same claim is refused: work the first one.
        twice = await client.post(f"/v1/claims/{claim['id']}/corrections", json=change, headers=RW)
        assert twice.status_code == 409, twice.text
        assert await count_claims(settings, claim["patient_id"]) == 2
        assert (
            x12_837_errors((await client.get(f"/v1/claims/{replacement['id']}/837", headers=RW)).text) == []
        )

        await publish(producer, make_acknowledgment(replacement, unique("ICN").upper()))
        await eventually(lambda: get_claim_if(client, replacement["id"], "accepted"))
        key = unique("void")
        voided = await client.post(f"/v1/claims/{replacement['id']}/void", headers=with_key(key))
        again = await client.post(f"/v1/claims/{replacement['id']}/void", headers=with_key(key))
        assert (voided.status_code, again.status_code) == (201, 201), again.text
        assert (
            again.json()["id"] == voided.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
        )
        twice = await client.post(f"/v1/claims/{replacement['id']}/void", headers=RW)
        assert twice.status_code == 409, twice.text
        assert await count_claims(settings, claim["patient_id"]) == 3
        assert (
            x12_837_errors((await client.get(f"/v1/claims/{voided.json()['id']}/837", headers=RW)).text) == []
        )
