"""Manual upload and the processing worker: a file is processed once however often it comes
(same name and content, same content under another name, an Idempotency-Key retry); bad
uploads are problems naming the rule (415, 413, 422) that never echo the content; a file kept
by the mailbox path is processed by the worker the same way; the files list pages by date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.gateway.inbound import usecases
from tests.conftest import eventually, token
from tests.gateway.helpers import ALL, X12, make_partner, make_ta1, post_file, sample, seed_file, staged

SECRET = "SECRETPHI-DOE-JANE-19800101"


def _no_echo(response) -> None:
    assert response.headers["content-type"].startswith("application/problem+json")
    assert SECRET not in response.text, "a problem never echoes the file"


async def test_the_same_file_uploaded_twice_is_processed_once(gateway, admin) -> None:
    partner = make_partner()
    file_id, _ = await seed_file(admin, partner.id, icn="000000311", gcn="311", claims=[("I1", "0001")])
    content = make_ta1("000000311", "A", "000", our_icn="000000311")
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        first = await post_file(client, content, partner_id=partner.id, name="answer.ta1")
        second = await post_file(client, content, partner_id=partner.id, name="answer.ta1")
        renamed = await post_file(client, content, partner_id=partner.id, name="answer-copy.ta1")
    assert (first.status_code, first.json()["new"], first.json()["state"]) == (201, True, "processed")
    assert (second.status_code, second.json()["new"]) == (200, False), "same name and content: the file kept"
    assert second.json()["id"] == first.json()["id"]
    assert renamed.status_code == 201 and renamed.json()["state"] == "duplicate", "same content, other name"
    assert len(await staged(admin, "submission_file.acknowledged.v1", {str(file_id)})) == 1, "acted on once"


async def test_an_idempotency_key_replays_the_first_answer(gateway) -> None:
    content = make_ta1("000000312", "A", "000", our_icn="000000312")
    async with gateway() as (_, client):
        headers = {**ALL, **X12, "Idempotency-Key": "upload-312"}
        first = await client.post("/v1/files", content=content, headers=headers)
        again = await client.post("/v1/files", content=content, headers=headers)
        other = await client.post("/v1/files", content=content + b"\n", headers=headers)
    assert first.status_code == 201
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 422 and other.json()["errors"][0]["rule"] == "unique_per_request"


async def test_bad_uploads_are_problems_naming_the_rule_without_echo(gateway) -> None:
    body = f"ISA*00*{SECRET}~".encode()
    async with gateway(max_file_bytes=1024) as (_, client):
        json_type = await client.post(
            "/v1/files", content=body, headers={**ALL, "Content-Type": "application/json"}
        )
        too_big = await client.post("/v1/files", content=body + b"X" * 2000, headers={**ALL, **X12})
        not_x12 = await client.post("/v1/files", content=SECRET.encode(), headers={**ALL, **X12})
        nul = await client.post("/v1/files", content=body + b"\x00", headers={**ALL, **X12})
        partner = await client.post(
            "/v1/files", content=body, params={"partner_id": "nobody"}, headers={**ALL, **X12}
        )
        name = await client.post(
            "/v1/files", content=body, params={"file_name": "../etc"}, headers={**ALL, **X12}
        )
        no_write = await client.post("/v1/files", content=body, headers={**token("gateway:read"), **X12})
    assert json_type.status_code == 415 and json_type.json()["errors"][0]["rule"] == "media_type"
    assert too_big.status_code == 413 and too_big.json()["errors"][0]["rule"] == "max_bytes"
    assert not_x12.status_code == 422 and not_x12.json()["errors"][0] == {
        "field": "body",
        "rule": "x12_interchange",
        "message": "The file must be an X12 interchange starting with ISA.",
    }
    assert nul.status_code == 422 and nul.json()["errors"][0]["rule"] == "no_nul"
    assert partner.status_code == 422 and partner.json()["errors"][0]["rule"] == "known_partner"
    assert name.status_code == 422 and name.json()["errors"][0]["field"].endswith("file_name")
    assert no_write.status_code == 403
    for response in (json_type, too_big, not_x12, nul, partner, name):
        _no_echo(response)


async def test_a_file_kept_by_the_mailbox_path_is_processed_by_the_worker(gateway, admin) -> None:
    partner = make_partner()
    file_id, _ = await seed_file(admin, partner.id, icn="000000313", gcn="313", claims=[("J1", "0001")])
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        async with app.state.db.session() as session, session.begin():  # as the poller keeps a file
            kept = await usecases.keep(
                session,
                partner_id=partner.id,
                source="mailbox",
                remote_name="from/answer-313.ta1",
                content=make_ta1("000000313", "R", "020", our_icn="000000313"),
                actor="mailbox",
            )

        async def processed() -> dict | None:
            response = await client.get(f"/v1/files/{kept.file_id}", headers=ALL)
            return response.json() if response.json()["state"] != "received" else None

        body = await eventually(processed, what="the worker processed the kept file")
    assert (body["kind"], body["state"], body["source"]) == ("TA1", "processed", "mailbox")
    (ack,) = await staged(admin, "submission_file.acknowledged.v1", {str(file_id)})
    assert (ack["code"], ack["note_code"]) == ("R", "020")


async def test_the_files_list_pages_by_date_and_kind(gateway) -> None:
    async with gateway() as (_, client):
        response = await post_file(client, make_ta1("000000314", "A", "000", our_icn="000000314"))
        file_id = response.json()["id"]
        today = datetime.now(UTC).date()
        listed = await client.get(
            "/v1/files", params={"date_from": str(today), "kind": "TA1", "limit": 200}, headers=ALL
        )
        before = await client.get(
            "/v1/files", params={"date_to": str(today - timedelta(days=1))}, headers=ALL
        )
        bad = await client.get(
            "/v1/files", params={"date_from": str(today), "date_to": "2000-01-01"}, headers=ALL
        )
    assert file_id in [f["id"] for f in listed.json()["items"]]
    assert all(f["kind"] == "TA1" for f in listed.json()["items"])
    assert file_id not in [f["id"] for f in before.json()["items"]]
    assert bad.status_code == 422


async def test_an_835_becomes_remittance_received_with_the_partners_payer(gateway, admin) -> None:
    """Remittances: TRN02 of the first set is the trace number; the payer is the partner's
    payer_map entry for REF*2U (loop 1000A), else its default payer, else TRN03."""
    mapped = make_partner(payer_map={"999": "MEDICARE-A"})
    defaulted = make_partner(default_payer_id="RUSHMORE")
    medicare = sample("835_005010X221A1/medicare-part-a.835")
    async with gateway() as (app, client):
        app.state.gateway_partners.extend([mapped, defaulted])
        by_map = await post_file(client, medicare, partner_id=mapped.id)
        by_default = await post_file(
            client, sample("835_005010X221A1/managed-care.835"), partner_id=defaulted.id
        )
        by_trn03 = await post_file(client, sample("835_005010X221A1/cob-contractural-adjustment.835"))
    assert [r.json()["state"] for r in (by_map, by_default, by_trn03)] == ["processed"] * 3
    (event,) = await staged(admin, "remittance.received.v1", {"12345"})
    assert (event["payer_id"], event["partner_id"], event["file_id"]) == (
        "MEDICARE-A",
        mapped.id,
        by_map.json()["id"],
    )
    assert event["x12_835"] == medicare.decode(), "the file as received"
    (event,) = await staged(admin, "remittance.received.v1", {"7170066655"})
    assert event["payer_id"] == "RUSHMORE", "no N1*PR id or REF*2U: the partner's default payer"
    (event,) = await staged(admin, "remittance.received.v1", {"0063158ABC"})
    assert (event["payer_id"], event["partner_id"]) == ("1566339911", None), "TRN03, for payments to hold"
