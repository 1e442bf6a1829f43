"""Helpers of the claims tests: builders (`make_...`), HTTP shortcuts (`get_...`, `post_...`),
and publishing and reading events. Importable without pytest's fixtures (bench/claims.py uses
make_claim)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from shared.events import new_event
from tests.conftest import encode_signed

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer
    from pydantic import BaseModel

BILLING_NPI = "1234567893"
RENDERING_NPI = "1245319599"


def make_recent_date(days_ago: int = 3) -> str:
    return (date.today() - timedelta(days=days_ago)).isoformat()


def make_claim(patient_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A claim every edit passes (given an active eligibility check for its date)."""
    dos = make_recent_date()
    body: dict[str, Any] = {
        "patient_id": patient_id or f"pat-{uuid.uuid4().hex[:10]}",
        "subscriber": {
            "first_name": "Jane",
            "last_name": "Doe",
            "birth_date": "1980-02-03",
            "gender": "F",
            "member_id": "SBX10001",
            "group_number": "GRP100",
            "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"},
        },
        "relationship_code": "18",
        "payer_id": "SBX001",
        "billing_provider": {
            "npi": BILLING_NPI,
            "name": "Springfield Family Clinic",
            "taxonomy": "207Q00000X",
            "tax_id": "123456789",
            # 837P 2010AA N403: the billing provider's full nine-digit ZIP code.
            "address": {
                "line1": "2 Oak Ave",
                "city": "Springfield",
                "state": "IL",
                "postal_code": "627011234",
            },
        },
        "rendering_provider": {
            "npi": RENDERING_NPI,
            "name": "Smith",
            "first_name": "Ann",
            "taxonomy": "207Q00000X",
        },
        "place_of_service": "11",
        "diagnoses": ["E11.9", "I10"],
        "lines": [
            {
                "code": "99213",
                "modifiers": ["25"],
                "units": "1",
                "charge": "125.00",
                "date_of_service": dos,
                "diagnosis_pointers": [1, 2],
            },
            {
                "code": "93000",
                "modifiers": ["59"],
                "units": "1",
                "charge": "50.00",
                "date_of_service": dos,
                "diagnosis_pointers": [2],
            },
        ],
    }
    body.update(overrides)
    return body


def make_spoiled(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with the dotted `path` set to `value`."""
    result = copy.deepcopy(body)
    target: Any = result
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return result


TEST_EHR_SOURCE = f"/partners/test-ehr-{uuid.uuid4().hex[:8]}"


async def publish(producer: AIOKafkaProducer, payload: BaseModel) -> uuid.UUID:
    """An event from this session's test EHR source (the claims consumer takes only those);
    returns its id (see `handled`)."""
    event = new_event(payload, source=TEST_EHR_SOURCE)
    topic, key, value, headers = encode_signed(event)
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    return event.id


async def read_event(bootstrap: str, topic: str, start: Any, key: str, timeout: float = 20.0) -> Any:
    """The decoded first record of `topic` after the offsets `start` whose key is `key`."""
    from tests.conftest import read_from  # not at import: bench/claims.py imports this module

    records = await read_from(
        bootstrap, topic, start, until=lambda rs: any(r.key == key.encode() for r in rs), timeout=timeout
    )
    return json.loads(next(r for r in records if r.key == key.encode()).value)


async def make_eligibility(
    settings, patient_id: str, payer_id: str, dos: str, other_payers: list | None = None
) -> None:
    """Our copy of an active eligibility check, as the eligibility.checked handler would store it."""
    from tests.conftest import connect_as  # not at import: bench/claims.py imports this module

    conn = await connect_as("claims", settings)
    try:
        await conn.execute(
            "INSERT INTO eligibility_copies (check_id, patient_id, payer_id, status, date_of_service,"
            " coverage_start, coverage_end, other_payers, checked_at) VALUES (gen_random_uuid(), $1, $2,"
            " 'active', $3::text::date, '2020-01-01', '2099-12-31', $4::text::jsonb, now())",
            patient_id,
            payer_id,
            dos,
            json.dumps(other_payers or []),
        )
    finally:
        await conn.close()


def read_write() -> dict[str, str]:
    """The Authorization header with claims:read and claims:write."""
    from tests.conftest import token  # not at import: bench/claims.py imports this module

    return token("claims:read", "claims:write")


def make_npi() -> str:
    """A valid NPI (check digit right) no other test uses: registry records of one test stay
    apart from another's in the shared test database."""
    from shared.identifiers import npi_check_digit

    first_nine = f"1{uuid.uuid4().int % 10**8:08d}"
    return f"{first_nine}{npi_check_digit(first_nine)}"


def make_provider(npi: str, kind: str = "organization", **overrides: Any) -> dict[str, Any]:
    """A provider registry record with all that the 837P needs of it: an organization that
    bills (2010AA: name, street address with ZIP+4, EIN, taxonomy) or a person who renders
    (2310B: last and first name, taxonomy)."""
    if kind == "organization":
        body: dict[str, Any] = {
            "npi": npi,
            "entity_type": "organization",
            "name": "Springfield Family Clinic",
            "taxonomy": "207Q00000X",
            "tax_id": "123456789",
            "tax_id_type": "EI",
            "address": {
                "line1": "2 Oak Ave",
                "city": "Springfield",
                "state": "IL",
                "postal_code": "627011234",
            },
            "roles": ["billing"],
        }
    else:
        body = {
            "npi": npi,
            "entity_type": "person",
            "name": "Smith",
            "first_name": "Ann",
            "taxonomy": "207Q00000X",
            "roles": ["rendering"],
        }
    body.update(overrides)
    return body


async def put_provider(client: Any, body: dict[str, Any]) -> Any:
    """`PUT /v1/providers/{npi}`: the record as the practice maintains it (the response)."""
    return await client.put(f"/v1/providers/{body['npi']}", json=body, headers=read_write())


async def get_claim(client: Any, claim_id: str) -> dict[str, Any]:
    return (await client.get(f"/v1/claims/{claim_id}", headers=read_write())).json()


async def get_claims(client: Any, **params: Any) -> list[dict[str, Any]]:
    """The first page of `GET /v1/claims` with these filters."""
    return (await client.get("/v1/claims", params=params, headers=read_write())).json()["items"]


async def get_claim_if(client: Any, claim_id: str, *statuses: str) -> dict[str, Any] | None:
    """The claim if its status is one of `statuses`, else None (for `eventually`)."""
    claim = await get_claim(client, claim_id)
    return claim if claim["status"] in statuses else None


async def post_submitted_claim(client: Any, settings: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Create the claim with an eligibility check on file for it, and submit it."""
    await make_eligibility(
        settings, body["patient_id"], body["payer_id"], body["lines"][0]["date_of_service"]
    )
    claim = (await client.post("/v1/claims", json=body, headers=read_write())).json()
    sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=read_write())
    assert sent.status_code == 200, sent.text
    return sent.json()


def make_insurer_payment(
    claim: dict[str, Any],
    *,
    paid: str,
    adjustments: list[tuple[str, str, str]] | None = None,
    status_code: str = "1",
    ccn: str | None = None,
    charge: str | None = None,
) -> Any:
    """payment.posted for one CLP of an 835 about `claim` (CLP01 its PCN, CLP02 `status_code`,
    CLP07 `ccn`), as the payments service publishes it, with a trace number of its own."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from shared.events.catalogue import Adjustment, PaymentPosted

    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="insurer",
        claim_id=uuid.UUID(claim["id"]),
        account_id=claim["patient_id"],
        amount=Decimal(paid),
        method="eft",
        posted_at=datetime.now(UTC),
        payer_id=claim["payer_id"],
        patient_control_number=claim["patient_control_number"],
        payer_claim_control_number=ccn or f"ICN{uuid.uuid4().hex[:10].upper()}",
        claim_status_code=status_code,
        charge=Decimal(charge or claim["total_charge"]),
        patient_responsibility=Decimal("0.00"),
        adjustments=[
            Adjustment(group_code=g, reason_code=r, amount=Decimal(a)) for g, r, a in adjustments or []
        ],
        trace_number=f"TRN{uuid.uuid4().hex[:12].upper()}",
    )


def make_acknowledgment(claim: dict[str, Any], ccn: str) -> Any:
    """The payer's 277CA acceptance of `claim`, numbering it `ccn`."""
    from datetime import UTC, datetime

    from shared.events.catalogue import ClaimAcknowledged

    return ClaimAcknowledged(
        claim_id=uuid.UUID(claim["id"]),
        patient_control_number=claim["patient_control_number"],
        payer_claim_control_number=ccn,
        acknowledged_at=datetime.now(UTC),
    )


async def count_claims(settings: Any, patient_id: str) -> int:
    """How many claims the patient has in the claims table."""
    from tests.conftest import connect_as  # not at import: bench/claims.py imports this module

    conn = await connect_as("claims", settings)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM claims WHERE patient_id = $1", patient_id))
    finally:
        await conn.close()


# --- the front office's registry (issue 19) --------------------------------------------------


def make_patient_updated(patient_id: str, revision: int, **demographics: Any) -> Any:
    """patient.updated as the front office publishes it: the whole demographics, revision `revision`."""
    from datetime import UTC, datetime

    from shared.events.frontoffice import Demographics, PatientUpdated
    from shared.events.payloads import Address

    person: dict[str, Any] = {
        "first_name": "Jane",
        "last_name": "Doe",
        "birth_date": date(1980, 2, 3),
        "sex": "F",
        "address": Address(line1="1 Main St", city="Springfield", state="IL", postal_code="62701"),
    }
    person.update(demographics)
    return PatientUpdated(
        patient_id=patient_id,
        revision=revision,
        patient=Demographics(**person),
        reason="registration" if revision == 1 else "updated",
        changed_by="frontdesk-1",
        changed_at=datetime.now(UTC),
    )


def make_coverage(
    payer_id: str = "SBX001", member_id: str = "SBX10001", order: str = "primary", **fields: Any
) -> Any:
    """One registered coverage, in force since 2020 unless `effective_date`/`termination_date` say."""
    from shared.events.frontoffice import RegisteredCoverage

    values: dict[str, Any] = {
        "coverage_id": uuid.uuid4(),
        "order": order,
        "payer_id": payer_id,
        "plan": "PPO",
        "member_id": member_id,
        "group_number": "GRP100",
        "effective_date": date(2020, 1, 1),
    }
    values.update(fields)
    return RegisteredCoverage(**values)


def make_coverage_updated(patient_id: str, revision: int, coverages: list[Any], changes: Any = ()) -> Any:
    """coverage.updated: the whole ordered list and what changed, revision `revision`."""
    from datetime import UTC, datetime

    from shared.events.frontoffice import CoverageUpdated

    return CoverageUpdated(
        patient_id=patient_id,
        revision=revision,
        coverages=coverages,
        changes=list(changes),
        reason="coverage_change",
        changed_by="frontdesk-1",
        changed_at=datetime.now(UTC),
    )


async def get_registry_copy(settings: Any, patient_id: str) -> dict[str, Any] | None:
    """Claims' copy of a patient (the registry_copies row, JSON parsed), or None."""
    from tests.conftest import connect_as  # not at import: bench/claims.py imports this module

    conn = await connect_as("claims", settings)
    try:
        row = await conn.fetchrow("SELECT * FROM registry_copies WHERE patient_id = $1", patient_id)
    finally:
        await conn.close()
    if row is None:
        return None
    parsed = dict(row)
    for name in ("patient", "guarantor", "coverages"):
        if isinstance(parsed[name], str):
            parsed[name] = json.loads(parsed[name])
    return parsed


async def handled(settings: Any, event_ids: list[uuid.UUID]) -> bool:
    """Whether the claims consumer has handled (committed the inbox row of) every one of these
    events: what a test waits for before it checks that an event changed nothing."""
    from tests.conftest import connect_as  # not at import: bench/claims.py imports this module

    conn = await connect_as("claims", settings)
    try:
        count = await conn.fetchval(
            "SELECT count(DISTINCT event_id) FROM inbox WHERE event_id = ANY($1::uuid[])", event_ids
        )
    finally:
        await conn.close()
    return count == len(event_ids)


async def get_flags(client: Any, claim_id: str) -> list[dict[str, Any]]:
    """The first page of `GET /v1/claims/{id}/flags`."""
    resp = await client.get(f"/v1/claims/{claim_id}/flags", headers=read_write())
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]
