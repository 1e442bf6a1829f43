"""Issue 17, item 6: a read that returns data of more than one patient records every one of them.

The bulk routes are found from each service's OpenAPI document, not listed by hand: a GET whose
answer names the service's patient identifier (shared.audit.PATIENT_KEYS) only inside a list,
unless the path or a required query parameter fixes the patient. Raw files and exports, whose
documents cannot show it, are named in TEXT_BULK. Every such route must record what it returned
(`trail.saw(...)` / `trail.saw_in(...)`, in the route or its load-or-404 dependency): a new list
route without it fails `test_every_bulk_route_records_the_patients_it_returns`. The runs below
then show, through the running apps, that the audit row of a call holds exactly the patients
its answer named, and that no audit row holds anything but ids.
"""

from __future__ import annotations

import inspect
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi.routing import APIRoute

from shared.app import create_app
from shared.audit import PATIENT_KEYS, patients_in
from shared.events.catalogue import ClaimSubmitted
from tests.conftest import service_definition, token, unique
from tests.security.helpers import api_only, get_audit_rows

# Bulk reads whose answer is not JSON (raw X12, CSV) or whose items name the patient only
# through another record (an underpayment names its claim; an approval its command's summary).
TEXT_BULK = {
    "payments": {
        "GET /v1/remittances/{remittance_id}/x12",
        "GET /v1/received-files/{file_id}/x12",
        "GET /v1/collections/export",
        "GET /v1/underpayments",
        "GET /v1/approvals",
    },
    "frontoffice": {"GET /v1/financing/export"},
}
# The audit log itself: its entries carry patient ids only (no PHI), and recording every patient
# of a page of audit entries in a new entry would make each read of the audit grow it.
NOT_PATIENT_DATA = {"GET /v1/audit"}


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _names_in_list(doc: dict[str, Any], schema: dict[str, Any], key: str, listed: bool, seen: set) -> bool:
    """Whether `key` is a property somewhere inside an array of the schema."""
    if "$ref" in schema:
        name = schema["$ref"]
        if (name, listed) in seen:
            return False
        seen.add((name, listed))
    schema = _resolve(doc, schema)
    if listed and key in schema.get("properties", {}):
        return True
    children = [(s, listed) for s in schema.get("properties", {}).values()]
    children += [(s, listed) for alt in ("anyOf", "oneOf", "allOf") for s in schema.get(alt, [])]
    if isinstance(schema.get("items"), dict):
        children.append((schema["items"], True))
    return any(_names_in_list(doc, s, key, inner, seen) for s, inner in children)


def bulk_routes(name: str) -> set[str]:
    """`METHOD /path` of every route of the service that returns several patients' data."""
    key = PATIENT_KEYS[name]
    doc = create_app(service_definition(name)).openapi()
    found = set(TEXT_BULK.get(name, set()))
    for path, operations in doc["paths"].items():
        operation = operations.get("get")
        if operation is None or f"GET {path}" in NOT_PATIENT_DATA:
            continue
        fixed = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path" or p.get("required")}
        if key in fixed or (key == "recipient_id" and "recipient" in fixed):
            continue  # one patient, named in the request (its audit row has patient_id)
        schema = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        if _names_in_list(doc, schema.get("schema", {}), key, False, set()):
            found.add(f"GET {path}")
    return found


def _calls(call: Any) -> list[Any]:
    """The route's function and every dependency it has, depth first."""
    return [call.call, *(c for d in call.dependencies for c in _calls(d))]


def test_every_bulk_route_records_the_patients_it_returns():
    expected = {
        "eligibility": {"GET /v1/eligibility/batches/{batch_id}"},
        "claims": {"GET /v1/claims", "GET /v1/denials", "GET /v1/followups"},
        "payments": {"GET /v1/remittances/{remittance_id}", "GET /v1/possible-duplicates"},
        "frontoffice": {"GET /v1/patients", "GET /v1/tickets", "GET /v1/discrepancies"},
    }
    missing: list[str] = []
    for name in PATIENT_KEYS:
        routes = bulk_routes(name)
        assert expected.get(name, set()) <= routes, (name, routes)  # the walk finds what it must
        for router in service_definition(name).routers:
            for route in router.routes:
                if not isinstance(route, APIRoute) or not route.methods & {"GET"}:
                    continue
                if f"GET {route.path}" not in routes:
                    continue
                source = "\n".join(
                    inspect.getsource(f) for f in _calls(route.dependant) if inspect.isfunction(f)
                )
                if ".saw(" not in source and ".saw_in(" not in source:
                    missing.append(f"{name}: GET {route.path}")
    assert not missing, f"bulk reads that do not record the patients they return: {missing}"


def _returned(name: str, body: Any) -> set[str]:
    return patients_in(body, PATIENT_KEYS[name])


async def _recorded(admin: Any, schema: str, correlation: str) -> dict[str, Any]:
    rows = await get_audit_rows(admin, schema, correlation_id=correlation)
    assert len(rows) == 1, rows
    return rows[0]


def _traced() -> dict[str, str]:
    return {"X-Correlation-Id": str(uuid.uuid4())}


async def test_an_eligibility_batch_records_every_patient(settings, admin):
    from tests.eligibility.helpers import make_check_body

    patients = [unique("batch-pat") for _ in range(3)]
    checks = [make_check_body(unique("M"), patient_id=p) for p in patients]
    created, read = _traced(), _traced()
    async with api_only("eligibility", settings) as (_, client):
        posted = await client.post(
            "/v1/eligibility/batches",
            json={"checks": checks},
            headers={**created, **token("eligibility:write", "eligibility:read")},
        )
        assert posted.status_code == 202, posted.text
        batch = await client.get(
            f"/v1/eligibility/batches/{posted.json()['id']}",
            headers={**read, **token("eligibility:read")},
        )
        assert batch.status_code == 200, batch.text
    assert _returned("eligibility", batch.json()) == set(patients)
    for headers in (created, read):
        row = await _recorded(admin, "eligibility", headers["X-Correlation-Id"])
        assert set(row["patient_ids"] or ()) == set(patients), row


async def test_a_followup_worklist_records_every_patient(settings, admin):
    from tests.claims.helpers import make_claim, post_submitted_claim

    patients = [unique("fu-pat") for _ in range(3)]
    listing = _traced()
    async with api_only("claims", settings) as (_, client):
        for patient in patients:
            await post_submitted_claim(client, settings, make_claim(patient))
        page = await client.get(
            "/v1/followups",
            params={"as_of": "2099-12-31", "limit": 500},
            headers={**listing, **token("claims:read")},
        )
        assert page.status_code == 200, page.text
    returned = _returned("claims", page.json())
    assert set(patients) <= returned or page.json()["next_cursor"], returned
    row = await _recorded(admin, "claims", listing["X-Correlation-Id"])
    assert set(row["patient_ids"] or ()) == returned


async def _claims_on_file(app: Any, accounts: list[str]) -> list[str]:
    """payments' copies of one submitted claim per account, as the claim.submitted handler keeps
    them: their patient control numbers."""
    from services.payments.claimcopies.usecases import record_claim

    pcns = [unique("P")[:17] for _ in accounts]
    async with app.state.db.session() as session:
        for pcn, account in zip(pcns, accounts, strict=True):
            claim = ClaimSubmitted(
                claim_id=uuid.uuid4(),
                patient_control_number=pcn,
                patient_id=account,
                account_id=account,
                payer_id="SBX001",
                total_charge=Decimal("100.00"),
                x12_837="ISA*...",
                submitted_at=datetime.now(UTC),
                coverage_order="primary",
                date_of_service=date(2026, 1, 5),
                frequency_code="1",
                lines=[],
            )
            await record_claim(session, claim)
        await session.commit()
    return pcns


async def test_remittance_reads_raw_files_and_duplicates_record_every_account(settings, admin):
    from tests.payments.helpers import ALL, make_835, make_clp

    accounts = [unique("bulk-acct") for _ in range(3)]
    reads = {label: _traced() for label in ("remittance", "raw", "file", "duplicates")}
    async with api_only("payments", settings) as (app, client):
        pcns = await _claims_on_file(app, accounts)
        icns = [unique("ICN")[:20] for _ in pcns]
        clps = [
            make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")], pccn=icn)
            for pcn, icn in zip(pcns, icns)
        ]
        first = await client.post(
            "/v1/remittances",
            content=make_835(unique("T")[:30], clps),
            headers={**ALL, "Content-Type": "application/edi-x12"},
        )
        assert first.status_code in (200, 201), first.text
        remittance = first.json()["remittances"][0]["id"]
        file_id = first.json()["received_file_id"]
        again = await client.post(  # the same adjudications under another trace
            "/v1/remittances",
            content=make_835(unique("T")[:30], clps),
            headers={**ALL, "Content-Type": "application/edi-x12"},
        )
        assert again.status_code in (200, 201), again.text
        answers = {
            "remittance": await client.get(
                f"/v1/remittances/{remittance}", headers={**reads["remittance"], **ALL}
            ),
            "raw": await client.get(
                f"/v1/remittances/{remittance}/x12", headers={**reads["raw"], **token("remittances:raw")}
            ),
            "file": await client.get(
                f"/v1/received-files/{file_id}/x12", headers={**reads["file"], **token("remittances:raw")}
            ),
            "duplicates": await client.get(
                "/v1/possible-duplicates",
                params={"remittance_id": again.json()["remittances"][0]["id"]},
                headers={**reads["duplicates"], **ALL},
            ),
        }
    assert all(a.status_code == 200 for a in answers.values()), {k: a.text[:200] for k, a in answers.items()}
    assert _returned("payments", answers["remittance"].json()) == set(accounts)
    assert _returned("payments", answers["duplicates"].json()) == set(accounts)
    assert all(pcn in answers["raw"].text for pcn in pcns)
    for label, headers in reads.items():
        row = await _recorded(admin, "payments", headers["X-Correlation-Id"])
        assert set(row["patient_ids"] or ()) == set(accounts), (label, row)


async def test_audit_rows_hold_ids_and_never_patient_data(settings, admin):
    """Every column of an audit row is an id, a constant or a timestamp: a claim created with a
    patient's name, birth date, member id and address, read one at a time and in a list (with
    the member id in the query), leaves none of them in any service's audit."""
    from tests.claims.helpers import make_claim

    name = unique("Zzphi")
    body = make_claim(unique("phi-pat"))
    body["subscriber"].update(first_name=name, member_id=name[-12:].upper())
    body["subscriber"]["address"]["line1"] = f"{name} Street"
    phi = (name, name[-12:].upper(), body["subscriber"]["birth_date"])
    async with api_only("claims", settings) as (_, client):
        created = await client.post("/v1/claims", json=body, headers=token("claims:write"))
        assert created.status_code == 201, created.text
        claim = created.json()
        read = await client.get(f"/v1/claims/{claim['id']}", headers=token("claims:read"))
        assert name in read.text  # the answer has it: the audit of it must not
        listed = await client.get(
            "/v1/claims", params={"patient_id": body["patient_id"], "limit": 5}, headers=token("claims:read")
        )
        assert listed.status_code == 200
    rows = await get_audit_rows(admin, "claims", resource_id=claim["id"])
    rows += [r for r in await admin.fetch("SELECT * FROM claims.audit_log ORDER BY id DESC LIMIT 50")]
    assert {(r["action"], r["patient_id"]) for r in rows} >= {
        ("create", body["patient_id"]),
        ("read", body["patient_id"]),
    }
    for schema in PATIENT_KEYS:
        recent = await admin.fetch(f"SELECT * FROM {schema}.audit_log ORDER BY id DESC LIMIT 5000")
        text = json.dumps([dict(r) for r in recent], default=str)
        assert not [p for p in phi if p in text], schema


async def test_a_statement_batch_records_every_account_it_issued_to(settings, admin):
    """A statement run (a batch write) names the accounts it issued statements to, and the
    daily cycle the accounts it told something."""
    from tests.payments.helpers import ALL, post_charge

    account = unique("stmt-acct")
    run, cycle = _traced(), _traced()
    async with api_only("payments", settings) as (_, client):
        assert (await post_charge(client, account, "80.00")).status_code == 201
        issued = await client.post(
            "/v1/statements/run-cycle",
            params={"statement_date": "2026-02-01", "account_id": account},
            headers={**run, **ALL},
        )
        assert issued.status_code == 200 and len(issued.json()["issued"]) == 1, issued.text
        daily = await client.post(
            "/v1/payment-plans/run-cycle", params={"as_of": "2026-04-01"}, headers={**cycle, **ALL}
        )
        assert daily.status_code == 200, daily.text
    assert set((await _recorded(admin, "payments", run["X-Correlation-Id"]))["patient_ids"]) == {account}
    told = set(daily.json()["accounts"])
    assert account in told  # two months later its next dunning step is due
    recorded = (await _recorded(admin, "payments", cycle["X-Correlation-Id"]))["patient_ids"]
    assert set(recorded or ()) == told


async def test_a_patient_search_records_every_patient_it_returns(settings, admin):
    """The front office's patient search (a list of demographics) names every patient it
    returned in its one audit row, and nobody else."""
    from tests.frontoffice.helpers import WRITE, make_patient

    last_name = unique("Zzbulk").replace("-", "")[:40]
    patients = [unique("fo-bulk") for _ in range(3)]
    listing = _traced()
    async with api_only("frontoffice", settings) as (_, client):
        for patient in patients:
            body = make_patient(patient, last_name=last_name)
            registered = await client.post("/v1/patients", json=body, headers=token(*WRITE))
            assert registered.status_code == 201, registered.text
        found = await client.get(
            "/v1/patients",
            params={"last_name": last_name, "limit": 10},
            headers={**listing, **token("patients:read")},
        )
        assert found.status_code == 200, found.text
    assert _returned("frontoffice", found.json()) == set(patients)
    row = await _recorded(admin, "frontoffice", listing["X-Correlation-Id"])
    assert set(row["patient_ids"] or ()) == set(patients), row
