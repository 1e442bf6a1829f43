"""Must-show "outside files" (review half): a file of an unknown type, an unreadable one, a 271
and an acknowledgment of nothing we sent land in the review queue with their reason, located,
without the file's data; the file is kept as received; reprocess (after a fix) and dismiss."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import token, unique
from tests.gateway.helpers import (
    ALL,
    make_277ca,
    make_999,
    make_partner,
    post_file,
    sample,
    seed_file,
    staged,
)


async def _open_items(client, reason: str) -> list[dict]:
    response = await client.get("/v1/review", params={"reason": reason, "limit": 200}, headers=ALL)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_file_of_unknown_type_lands_in_review_with_its_reason_and_is_kept(gateway, admin) -> None:
    content = sample("837_005010X222A2/demo.example1.837")
    async with gateway() as (_, client):
        response = await post_file(client, content, name=unique("claims"))
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["kind"], body["state"]) == ("unknown", "review"), "GS01 HC (837) is no file we read"
        items = [i for i in await _open_items(client, "unknown_type") if i["file_id"] == body["id"]]
        raw = await client.get(f"/v1/files/{body['id']}/x12", headers=ALL)
    (item,) = items
    assert item["detail"]["segment"] == "GS" and item["detail"]["functional_id"] == "HC", "located at GS01"
    assert item["detail"]["position"] == 2
    assert "SMITH" not in str(item) + str(body), "no data of the file (NM1*IL) in review or errors"
    assert raw.status_code == 200 and raw.text == content.decode(), "kept exactly as received"
    with pytest.raises(asyncpg.RaiseError, match="received files are kept"):
        await admin.execute("DELETE FROM gateway.received_files WHERE id = $1", body["id"])


async def test_raw_file_needs_the_gateway_x12_scope(gateway) -> None:
    async with gateway() as (_, client):
        response = await post_file(client, sample("270_005010X279A1/subscriber-health-benefit-check.270"))
        file_id = response.json()["id"]
        refused = await client.get(f"/v1/files/{file_id}/x12", headers=token("gateway:read"))
        metadata = await client.get(f"/v1/files/{file_id}", headers=token("gateway:read"))
    assert refused.status_code == 403, "raw X12 is PHI: gateway:x12 only"
    assert metadata.status_code == 200 and "content" not in metadata.json()


async def test_a_271_goes_to_review_as_unsupported(gateway) -> None:
    async with gateway() as (_, client):
        response = await post_file(client, sample("271_005010X279A1/subscriber-health-benefit-check.271"))
        body = response.json()
        (item,) = [i for i in await _open_items(client, "unsupported") if i["file_id"] == body["id"]]
    assert (body["kind"], body["state"]) == ("271", "review")
    assert item["detail"]["message"].startswith("271s come over HTTP")


async def test_an_unmatched_999_is_reprocessed_after_its_file_is_on_record(gateway, admin) -> None:
    partner = make_partner()
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        # The 999 answers GS06 4502 of this partner, a file not on record yet.
        response = await post_file(client, make_999("4502"), partner_id=partner.id)
        body = response.json()
        assert (body["kind"], body["state"]) == ("999", "review")
        (item,) = [i for i in await _open_items(client, "unmatched_ack") if i["file_id"] == body["id"]]
        assert item["detail"]["segment"] == "AK1"

        pcn = unique("R")[:17]
        _, claims = await seed_file(admin, partner.id, icn="000004502", gcn="4502", claims=[(pcn, "0002")])
        done = await client.post(
            f"/v1/review/{item['id']}/reprocess", json={"note": "file restored"}, headers=ALL
        )
        again = await client.post(f"/v1/review/{item['id']}/reprocess", headers=ALL)
        still_open = [i for i in await _open_items(client, "unmatched_ack") if i["file_id"] == body["id"]]
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "processed", "the same processing, now matched"
    assert [r["resolution"] for r in done.json()["reviews"]] == ["reprocessed"]
    assert again.status_code == 409, "a resolved item is not resolved twice"
    assert still_open == []
    assert len(await staged(admin, "claim.rejected.v1", {str(claims[pcn])})) == 1


async def test_dismiss_closes_the_item_and_keeps_the_file(gateway) -> None:
    junk = b"ISA*00*" + b"x" * 200 + b"~"
    async with gateway() as (_, client):
        response = await post_file(client, junk, name=unique("junk"))
        body = response.json()
        (item,) = [i for i in await _open_items(client, "unreadable") if i["file_id"] == body["id"]]
        dismissed = await client.post(
            f"/v1/review/{item['id']}/dismiss", json={"note": "not ours"}, headers=ALL
        )
        open_after = [i for i in await _open_items(client, "unreadable") if i["file_id"] == body["id"]]
        resolved = await client.get("/v1/review", params={"resolved": "true", "limit": 200}, headers=ALL)
        missing = await client.post(f"/v1/review/{body['id']}/dismiss", headers=ALL)
        raw = await client.get(f"/v1/files/{body['id']}/x12", headers=ALL)
    assert (body["kind"], body["state"]) == ("unknown", "review")
    assert "x" * 20 not in str(body["errors"]), "the error names the rule, not the data"
    assert dismissed.status_code == 200 and open_after == []
    (closed,) = [i for i in resolved.json()["items"] if i["id"] == item["id"]]
    assert (closed["resolution"], closed["note"]) == ("dismissed", "not ours")
    assert missing.status_code == 404
    assert raw.text == junk.decode(), "a dismissed file stays kept"


async def test_content_no_event_allows_goes_to_review_with_nothing_applied(gateway, admin) -> None:
    """A claim whose CLM01 is longer than the events' patient control number (17): the 277CA
    that rejects it cannot be published; the file goes to review and nothing of it is applied
    (the reader runs in a savepoint), instead of failing on every round."""
    partner = make_partner()
    long_pcn = unique("LONGPCN")[:20]
    _, claims = await seed_file(admin, partner.id, icn="000004504", gcn="4504", claims=[(long_pcn, "0001")])
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, make_277ca([long_pcn]), partner_id=partner.id)
    body = response.json()
    assert (body["kind"], body["state"]) == ("277CA", "review"), body
    assert body["reviews"][0]["reason"] == "unreadable"
    row = await admin.fetchrow(
        "SELECT ack_state FROM gateway.outbound_claims WHERE claim_id = $1", claims[long_pcn]
    )
    assert row["ack_state"] == "pending", "nothing of the file applied"
    assert await staged(admin, "claim.acknowledged.v1", {str(claims[long_pcn])}) == []
