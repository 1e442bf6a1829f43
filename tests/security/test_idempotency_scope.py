"""Issue 17, item 8: an Idempotency-Key is the caller's own.

Found: caller B received caller A's payment response by sending A's key. A key is scoped to
the token's subject (shared.idempotency.idempotent_write, `actor` = the audit trail's actor,
which is the verified token's `sub`), never to a value the client sends. So caller B, reusing
caller A's key for another request, gets its own 201 with its own body; A's retry with the key
still replays A's first answer. One creating POST of every service that takes the header.

Which operations take the header is read from the OpenAPI documents, so a new one is noticed:
it must be added here (with the scope check) before this test passes.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from tests.claims.helpers import make_claim
from tests.conftest import token, unique
from tests.eligibility.helpers import make_check_body
from tests.security.helpers import api_only, service_names

HEADER = "Idempotency-Key"

# Every operation that takes an Idempotency-Key, per service. Each one passes the verified
# token's subject to shared.idempotency (read in review); the ones below marked * are also
# exercised by a test here.
KEYED = {
    "claims": {
        "POST /v1/claims",  # *
        "POST /v1/claims/{claim_id}/corrections",
        "POST /v1/claims/{claim_id}/void",
        "POST /v1/claims/{claim_id}/appeals",
    },
    "eligibility": {"POST /v1/eligibility/batches"},  # *
    "frontoffice": {  # * (tests/frontoffice: keys per caller)
        "POST /v1/patients",
        "POST /v1/patients/{patient_id}/coverages",
        "POST /v1/tickets",
        "POST /v1/tickets/{ticket_id}/notes",
        "POST /v1/assistance/screenings",
        "POST /v1/assistance/applications",
        "POST /v1/assistance/applications/{application_id}/documents",
        "POST /v1/financing/referrals",
    },
    "gateway": {"POST /v1/files"},  # *
    "notifications": set(),
    "payments": {
        "POST /v1/payments",  # *
        "POST /v1/accounts/{account_id}/payments",
        "POST /v1/payments/{payment_id}/refunds",
        "POST /v1/accounts/{account_id}/charges",  # *
        "POST /v1/accounts/{account_id}/adjustments",
        "POST /v1/payment-plans",
        "POST /v1/payment-plans/{plan_id}/changes",
        "POST /v1/payment-plans/{plan_id}/cancel",
        "POST /v1/denials/{claim_id}/bill-patient",
        "POST /v1/bank-deposits",
        "POST /v1/possible-duplicates/{item_id}/resolve",
        "POST /v1/possible-duplicates/{item_id}/refund",
    },
}


def keyed_operations(doc: dict[str, Any]) -> set[str]:
    """`METHOD /path` of every operation whose parameters include the Idempotency-Key header."""
    return {
        f"{method.upper()} {path}"
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
        if any(p.get("in") == "header" and p.get("name") == HEADER for p in operation.get("parameters", []))
    }


async def test_every_keyed_operation_is_known_here(settings):
    """A new route that takes the header fails here until someone checks its scope."""
    for name in service_names():
        async with api_only(name, settings) as (app, _):
            assert keyed_operations(app.openapi()) == KEYED.get(name, set()), name


def identity(body: dict[str, Any]) -> Any:
    """What an answer made: its id (a charge answers its item's id)."""
    return body.get("id") or body["item_id"]


async def assert_keys_are_per_caller(
    client: httpx.AsyncClient,
    scopes: tuple[str, ...],
    first: tuple[str, dict[str, Any]],
    second: tuple[str, dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Caller A sends `first` with key K; caller B sends the different `second` with the same
    K and must get a new answer of its own; A's retry still replays A's. (A's body, B's body)."""
    key = unique("shared-key")
    a = {**token(*scopes, subject=unique("caller-a")), HEADER: key}
    b = {**token(*scopes, subject=unique("caller-b")), HEADER: key}
    (path_a, body_a), (path_b, body_b) = first, second
    taken = await client.post(path_a, json=body_a, headers=a)
    assert taken.status_code in (201, 202), taken.text
    assert "Idempotent-Replayed" not in taken.headers

    theirs = await client.post(path_b, json=body_b, headers=b)
    assert theirs.status_code == taken.status_code, theirs.text
    assert "Idempotent-Replayed" not in theirs.headers  # B's own request, not A's replay
    assert identity(theirs.json()) != identity(taken.json())

    replay = await client.post(path_a, json=body_a, headers=a)
    assert replay.status_code == taken.status_code, replay.text
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == taken.json()
    return taken.json(), theirs.json()


async def test_payments_keys_are_per_caller(settings, admin):
    scopes = ("payments:read", "payments:write")
    async with api_only("payments", settings) as (_, client):
        charges = []
        for _ in range(2):
            account = unique("acct")
            charges.append((f"/v1/accounts/{account}/charges", {"amount": "40.00", "description": "visit"}))
        # A manual charge (creates the accounts the payments below pay on).
        ca, cb = await assert_keys_are_per_caller(client, scopes, charges[0], charges[1])
        assert ca["account_id"] != cb["account_id"]
        # A patient payment: B pays a different amount on another account with A's key.
        pay_a = {"account_id": ca["account_id"], "amount": "10.00", "method": "cash"}
        pay_b = {"account_id": cb["account_id"], "amount": "25.00", "method": "check"}
        mine, theirs = await assert_keys_are_per_caller(
            client, scopes, ("/v1/payments", pay_a), ("/v1/payments", pay_b)
        )
    assert (mine["account_id"], mine["amount"]) == (ca["account_id"], "10.00")
    assert (theirs["account_id"], theirs["amount"]) == (cb["account_id"], "25.00")
    # Both payments moved money, each on its own account, once.
    for body in (mine, theirs):
        rows = await admin.fetch(
            "SELECT amount FROM payments.ledger_entries WHERE payment_id = $1", body["id"]
        )
        assert sum(r["amount"] for r in rows) == -Decimal(body["amount"])


async def test_claims_keys_are_per_caller(settings):
    scopes = ("claims:read", "claims:write")
    async with api_only("claims", settings) as (_, client):
        first, second = make_claim(unique("pat")), make_claim(unique("pat"), place_of_service="22")
        mine, theirs = await assert_keys_are_per_caller(
            client, scopes, ("/v1/claims", first), ("/v1/claims", second)
        )
    assert mine["patient_id"] == first["patient_id"]
    assert theirs["patient_id"] == second["patient_id"]


async def test_frontoffice_ticket_keys_are_per_caller(settings):
    from tests.frontoffice.helpers import make_ticket

    scopes = ("tickets:read", "tickets:write")
    async with api_only("frontoffice", settings) as (_, client):
        first, second = make_ticket(), make_ticket(category="complaint")
        mine, theirs = await assert_keys_are_per_caller(
            client, scopes, ("/v1/tickets", first), ("/v1/tickets", second)
        )
    assert (mine["category"], theirs["category"]) == ("balance_question", "complaint")


async def test_eligibility_batch_keys_are_per_caller(settings):
    scopes = ("eligibility:read", "eligibility:write")
    async with api_only("eligibility", settings) as (_, client):
        first = {"checks": [make_check_body("SBX10001")]}
        second = {"checks": [make_check_body("SBX10001"), make_check_body("SBX10002")]}
        mine, theirs = await assert_keys_are_per_caller(
            client, scopes, ("/v1/eligibility/batches", first), ("/v1/eligibility/batches", second)
        )
    assert (mine["total"], theirs["total"]) == (1, 2)


async def test_gateway_upload_keys_are_per_caller(settings):
    """A hand-uploaded file (POST /v1/files, raw X12): B's other file under A's key is kept
    and answered as B's own; A's retry replays A's answer."""
    from tests.gateway.helpers import make_ta1

    key = unique("shared-key")
    scopes = ("gateway:read", "gateway:write")
    a = {**token(*scopes, subject=unique("caller-a")), HEADER: key, "Content-Type": "application/edi-x12"}
    b = {**token(*scopes, subject=unique("caller-b")), HEADER: key, "Content-Type": "application/edi-x12"}
    # Two different files (their own ISA13, so neither is a duplicate of an earlier run's).
    first, second = (make_ta1(f"{n:09d}", "A", "000", our_icn=str(uuid.uuid4().int)[-9:]) for n in (1, 2))
    async with api_only("gateway", settings) as (_, client):
        taken = await client.post("/v1/files", content=first, headers=a)
        assert taken.status_code == 201 and "Idempotent-Replayed" not in taken.headers, taken.text
        theirs = await client.post("/v1/files", content=second, headers=b)
        assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers, theirs.text
        assert theirs.json()["id"] != taken.json()["id"]
        replay = await client.post("/v1/files", content=first, headers=a)
        assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == taken.json()
