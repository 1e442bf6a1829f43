"""Plain helpers of the gateway tests: claims as the claims service writes them, partners
(files and models), our submission files seeded as the outbound part records them, uploads,
acknowledgments as clearinghouses write them, and reading back what the gateway wrote."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.claims.claims.schemas import ClaimData
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import generate
from services.gateway.partners.domain import TradingPartner
from shared import x12
from shared.events import Event, new_event
from shared.events.catalogue import ClaimSubmitted
from tests.claims.helpers import make_claim
from tests.conftest import X12_SAMPLES, token, unique

GATEWAY_ALL = token("gateway:read", "gateway:write", "ops:read")


def make_837(receiver_id: str, pcn: str, *, control_number: int = 7001) -> str:
    """A one-claim 837P addressed (ISA08) to `receiver_id`, as the claims service writes it."""
    data = ClaimData.model_validate(make_claim())
    return generate(
        data, pcn, control_number=control_number, settings=ClaimsSettings(receiver_id=receiver_id)
    )


def claim_event(receiver_id: str, pcn: str | None = None) -> Event:
    """A claim.submitted event whose 837 is addressed to `receiver_id`."""
    pcn = pcn or f"G{uuid.uuid4().hex[:15].upper()}"
    return new_event(
        ClaimSubmitted(
            claim_id=uuid.uuid4(),
            patient_control_number=pcn,
            patient_id=f"pat-{uuid.uuid4().hex[:8]}",
            payer_id="SBXPAYER",
            total_charge=Decimal("150.00"),
            x12_837=make_837(receiver_id, pcn),
            submitted_at=datetime.now(UTC),
        ),
        source="/tests/claims",
    )


def partner_config(mailbox: Any, **overrides: Any) -> dict[str, Any]:
    """A partners.json entry for the test mailbox `mailbox` (conftest's handle, or a running
    sandbox's with `mailbox=True`), logging in with its client key and pinning its host key."""
    pid = f"p{uuid.uuid4().hex[:10]}"
    config: dict[str, Any] = {
        "id": pid,
        "name": "Test clearinghouse",
        "host": "127.0.0.1",
        "port": getattr(mailbox, "sftp_port", None) or mailbox.port,
        "username": mailbox.user,
        "key_file": str(mailbox.client_key_path),
        "host_key": mailbox.host_key,
        "isa_sender_id": "REVCYCLE",
        "isa_receiver_id": "TESTCH",
        "gs_sender_id": "REVCYCLE",
        "gs_receiver_id": "TESTCHGS",
        "usage_indicator": "T",
        "receiver_ids": [f"R{uuid.uuid4().hex[:10].upper()}"],
        "poll_seconds": 3600,
        "batch_max_claims": 3,
        "batch_max_seconds": 3600,
    }
    config.update(overrides)
    return config


def write_partners(path: Path, *configs: dict[str, Any]) -> list[TradingPartner]:
    path.write_text(json.dumps(list(configs)))
    return [TradingPartner.model_validate(c) for c in configs]


ALL = token("gateway:read", "gateway:write", "gateway:x12")
X12 = {"Content-Type": "application/edi-x12"}
SAMPLES = X12_SAMPLES


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
    return (SAMPLES / path).read_bytes()


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


async def post_file(
    client: Any, content: bytes, *, partner_id: str | None = None, name: str | None = None
) -> Any:
    params = {k: v for k, v in (("partner_id", partner_id), ("file_name", name)) if v}
    return await client.post("/v1/files", content=content, params=params, headers={**ALL, **X12})


async def post_sample(
    gateway: Any, admin: Any, name: str, *, icn: str, gcn: str, claims: list[tuple[str, str]]
) -> tuple[dict[str, Any], str, uuid.UUID, dict[str, uuid.UUID]]:
    """The public sample `name` uploaded through POST /v1/files by a new partner whose
    submission file it answers (seed_file: ISA13 `icn`, GS06 `gcn`, claims [(PCN, ST02)]) is
    on record; 201 asserted. Returns (the answer's body, the file as GET /v1/files/{id}/x12
    gives it back, the submission file's id, {PCN: claim id})."""
    partner = make_partner()
    file_id, claim_ids = await seed_file(admin, partner.id, icn=icn, gcn=gcn, claims=claims)
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, sample(name), partner_id=partner.id)
        assert response.status_code == 201, response.text
        raw = await client.get(f"/v1/files/{response.json()['id']}/x12", headers=ALL)
    return response.json(), raw.text, file_id, claim_ids


def make_ta1(icn: str, code: str, note: str, *, our_icn: str = "000000901") -> bytes:
    """A TA1-only interchange from the clearinghouse answering our ISA13 `icn`."""
    return (
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*PRACTICE       *261205*1200*^*00501*"
        f"{our_icn}*0*T*:~TA1*{icn}*261205*1159*{code}*{note}~IEA*0*{our_icn}~"
    ).encode()


def make_999(gcn: str) -> bytes:
    """A 999 answering our group `gcn` of three sets: 0002 rejected (loop 2010BA NM1, the
    18th segment of the set, element 09 missing), 0001 and 0003 accepted; AK9 P."""
    return make_999_sets(gcn, ["A", "R", "A"])


def make_999_sets(gcn: str, codes: list[str]) -> bytes:
    """A 999 answering our group `gcn` set by set: ST02 0001, 0002, ... with these IK501 codes
    (`A`, or `R` with loop 2010BA NM1 element 09 missing)."""
    return make_999_groups([(gcn, codes)])


def make_999_groups(groups: list[tuple[str, list[str]]]) -> bytes:
    """One interchange of 999s, one per functional group it answers: [(our GS06, the IK501
    codes of its sets, as make_999_sets takes them)]."""
    bodies = []
    for gcn, codes in groups:
        body: list[list[str]] = [["AK1", "HC", gcn, "005010X222A1"]]
        for n, code in enumerate(codes, start=1):
            body.append(["AK2", "837", f"{n:04d}", "005010X222A1"])
            if code == "R":
                body += [["IK3", "NM1", "18", "2010BA", "8"], ["IK4", "9", "67", "1"]]
            body.append(["IK5", code] + (["5"] if code == "R" else []))
        accepted = sum(c == "A" for c in codes)
        body.append(
            ["AK9", "A" if accepted == len(codes) else "P", str(len(codes)), str(len(codes)), str(accepted)]
        )
        bodies.append(body)
    return from_clearinghouse(bodies, "999", "FA", "005010X231A1")


def make_277ca(pcns: list[str]) -> bytes:
    """A 277CA accepting (A1:20, then A2:20) each PCN, with a payer claim number each."""
    return make_277ca_answers([(pcn, "A2:20", f"PCCN{n}") for n, pcn in enumerate(pcns, start=4)])


def make_277ca_answers(
    answers: list[tuple[str, str, str | None]], claim_segments: list[list[str]] | None = None
) -> bytes:
    """A 277CA answering claims in this order: [(PCN in 2200D TRN02, STC01 composite such as
    `A2:20` or `A7:562:85`, REF*1K payer claim number or None)]; a PCN may come twice.
    `claim_segments` follow each answer's REF*1K (e.g. an institutional claim's REF*BLT type of
    bill and DTP*472 statement period)."""
    body = [
        ["BHT", "0085", "08", "B1", "20261205", "1200", "TH"],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", "PAYER", "", "", "", "", "PI", "PAYER1"],
        ["TRN", "1", "T1"],
        ["DTP", "050", "D8", "20261205"],
        ["DTP", "009", "D8", "20261205"],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "41", "2", "PRACTICE", "", "", "", "", "46", "PRACTICE"],
        ["TRN", "2", "B1"],
        ["STC", "A1:19:PR", "20261205", "WQ", "100"],
        ["HL", "3", "2", "19", "1"],
        ["NM1", "85", "2", "CLINIC", "", "", "", "", "XX", "1234567893"],
        ["TRN", "1", "0"],
        ["STC", "A1:19:PR", "20261205", "WQ", "100"],
    ]
    for n, (pcn, status, pccn) in enumerate(answers, start=4):
        body += [
            ["HL", str(n), "3", "PT", "0"],
            ["NM1", "QC", "1", "DOE", "JANE", "", "", "", "MI", "M1"],
            ["TRN", "2", pcn],
            ["STC", status, "20261205", "WQ", "50"],
        ]
        if pccn:
            body.append(["REF", "1K", pccn])
        body += claim_segments or []
    return from_clearinghouse([body], "277", "HN", "005010X214")


def from_clearinghouse(bodies: list[list[list[str]]], code: str, functional_id: str, version: str) -> bytes:
    """Transaction sets in an interchange from the clearinghouse to the practice, with a
    control number of its own."""
    text = x12.build(
        bodies,
        transaction_code=code,
        functional_id=functional_id,
        version=version,
        sender_id="CLEARINGHOUSE",
        receiver_id="PRACTICE",
        control_number=random.randint(1, 999_999),
    )
    return text.encode()
