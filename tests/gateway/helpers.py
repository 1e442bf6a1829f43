"""Helpers of the gateway tests: partners, our submission files and claims seeded as the
outbound part records them, uploads, and the events the gateway staged in its outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.gateway.partners.domain import TradingPartner
from tests.conftest import token, unique

ALL = token("gateway:read", "gateway:write", "gateway:x12")
X12 = {"Content-Type": "application/edi-x12"}
SAMPLES = "/work/shared/samples/x12"


def make_partner(partner_id: str | None = None, **changes: Any) -> TradingPartner:
    """A trading partner as configured (nothing here connects anywhere)."""
    values: dict[str, Any] = {
        "id": partner_id or unique("ch").lower()[:32],
        "name": "Test clearinghouse",
        "host": "127.0.0.1",
        "username": "practice",
        "password_env": "GATEWAY_TEST_PASSWORD",
        "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey",
        "isa_sender_id": "PRACTICE",
        "isa_receiver_id": "CLEARINGHOUSE",
        "gs_sender_id": "PRACTICE",
        "gs_receiver_id": "CLEARINGHOUSE",
        "receiver_ids": frozenset({"CLEARINGHOUSE"}),
        **changes,
    }
    return TradingPartner(**values)


def sample(path: str) -> bytes:
    with open(f"{SAMPLES}/{path}", "rb") as f:
        return f.read()


async def seed_file(
    admin: Any,
    partner_id: str,
    *,
    icn: str,
    gcn: str,
    claims: list[tuple[str, str]],
    payer_id: str = "PAYER1",
) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A submission file we sent (ISA13 `icn`, GS06 `gcn`) with claims [(PCN, ST02)], filed
    as the outbound batcher records them. Returns (file id, {PCN: claim id})."""
    file_id, now = uuid.uuid4(), datetime.now(UTC)
    await admin.execute(
        "INSERT INTO gateway.submission_files (id, partner_id, kind, file_name, interchange_control_number,"
        " group_control_number, usage, sha256, x12, claim_count, state, built_at, uploaded_at)"
        " VALUES ($1, $2, '837', $3, $4, $5, 'T', 'x', 'ISA~', $6, 'uploaded', $7, $7)",
        file_id,
        partner_id,
        f"{partner_id}_{icn}.837",
        icn,
        gcn,
        len(claims),
        now - timedelta(minutes=5),
    )
    claim_ids = {}
    for pcn, st02 in claims:
        claim_ids[pcn] = uuid.uuid4()
        await admin.execute(
            "INSERT INTO gateway.outbound_claims (event_id, claim_id, patient_control_number, payer_id,"
            " partner_id, frequency_code, x12_837, submitted_at, received_at, state, file_id,"
            " set_control_number)"
            " VALUES ($1, $2, $3, $4, $5, '1', 'ISA~', $6, $6, 'filed', $7, $8)",
            uuid.uuid4(),
            claim_ids[pcn],
            pcn,
            payer_id,
            partner_id,
            now,
            file_id,
            st02,
        )
    return file_id, claim_ids


async def staged(admin: Any, event_type: str, key_in: set[str]) -> list[dict[str, Any]]:
    """The payloads of `event_type` the gateway staged in its outbox whose key is in `key_in`
    (what its relay publishes to Kafka)."""
    rows = await admin.fetch(
        "SELECT event_key, payload FROM gateway.outbox WHERE event_type = $1 AND event_key = ANY($2::text[])"
        " ORDER BY id",
        event_type,
        list(key_in),
    )
    return [json.loads(bytes(r["payload"])) for r in rows]


async def claim_row(admin: Any, claim_id: uuid.UUID) -> Any:
    return await admin.fetchrow("SELECT * FROM gateway.outbound_claims WHERE claim_id = $1", claim_id)


async def upload(
    client: Any, content: bytes, *, partner_id: str | None = None, name: str | None = None
) -> Any:
    params = {k: v for k, v in (("partner_id", partner_id), ("file_name", name)) if v}
    return await client.post("/v1/files", content=content, params=params, headers={**ALL, **X12})


def ta1(icn: str, code: str, note: str, *, our_icn: str = "000000901") -> bytes:
    """A TA1-only interchange from the clearinghouse answering our ISA13 `icn`."""
    return (
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*PRACTICE       *261205*1200*^*00501*"
        f"{our_icn}*0*T*:~TA1*{icn}*261205*1159*{code}*{note}~IEA*0*{our_icn}~"
    ).encode()
