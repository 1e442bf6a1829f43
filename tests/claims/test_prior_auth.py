"""Prior authorization in claims: the 271's flags hold a claim, an authorization on file goes on
the 837P by itself, and a claim's visit is counted once.

Rules from the guides, not from the sandbox:
- 271 005010X279A1 loop 2110C EB11 = "Y": authorization or certification is required for
  the service type in EB03 (e.g. 62 MRI/CAT scan, PT physical therapy);
- 837P 005010X222A1 loop 2300 REF*G1: the prior authorization number of the claim; loop 2400
  REF*G1: a line's number, "when it differs from the one reported at the claim level";
- an authorization covers a service only inside its dates, for its procedure codes or
  service types, and while it has visits left.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.claims.claims.schemas import ClaimData
from services.claims.scrubbing import domain as scrubber
from shared import x12
from shared.events.catalogue import (
    AuthorizationRecorded,
    ClaimAcknowledged,
    ClaimRejected,
    EligibilityChecked,
    RejectionReason,
)
from tests import conftest
from tests.claims.helpers import (
    get_claim,
    get_claim_if,
    make_claim,
    make_eligibility,
    make_recent_date,
    publish,
    read_event,
)
from tests.conftest import (
    end_offsets,
    eventually,
    read_from,
    running_clearinghouse,
    start_group_at_end,
    token,
    unique,
)

RW = token("claims:read", "claims:write")
DOS = date.fromisoformat(make_recent_date())


# --- builders ------------------------------------------------------------------------------


def make_lines(*codes: str, dos: date = DOS) -> list[dict[str, Any]]:
    """One line per code on `dos`, no modifiers, pointing at the first diagnosis."""
    charges = {"99213": "125.00", "70553": "900.00", "97110": "60.00", "29881": "1500.00"}
    return [
        {
            "code": code,
            "modifiers": [],
            "units": "1",
            "charge": charges.get(code, "100.00"),
            "date_of_service": dos.isoformat(),
            "diagnosis_pointers": [1],
        }
        for code in codes
    ]


def make_check(patient_id: str, *, needs_auth: list[str], dos: date = DOS) -> EligibilityChecked:
    """eligibility.checked as eligibility publishes it after a 271 whose EB11 = Y for `needs_auth`."""
    return EligibilityChecked(
        check_id=uuid.uuid4(),
        patient_id=patient_id,
        payer_id="SBX001",
        status="active",
        date_of_service=dos,
        service_type_codes=["30"],
        coverage_start=date(2020, 1, 1),
        coverage_end=date(2099, 12, 31),
        prior_auth_required_service_types=needs_auth,
        checked_at=datetime.now(UTC),
    )


def make_authorization(patient_id: str, **changes: Any) -> AuthorizationRecorded:
    """authorization.recorded for a prior authorization valid a month either side of DOS."""
    values: dict[str, Any] = {
        "authorization_id": uuid.uuid4(),
        "patient_id": patient_id,
        "payer_id": "SBX001",
        "number": unique("PA").upper().replace("-", "")[:20],
        "service_codes": [],
        "start_date": DOS - timedelta(days=30),
        "end_date": DOS + timedelta(days=30),
        "visits_allowed": 6,
        "visits_used": 0,
    }
    values.update(changes)
    return AuthorizationRecorded(**values)


def make_fact(**changes: Any) -> Any:
    """A scrubber's AuthorizationFact (our copy of an authorization) valid around DOS."""
    values: dict[str, Any] = {
        "number": "PA1",
        "service_codes": (),
        "start_date": DOS - timedelta(days=30),
        "end_date": DOS + timedelta(days=30),
        "visits_allowed": 6,
        "visits_used": 0,
    }
    values.update(changes)
    return scrubber.AuthorizationFact(**values)


def make_context(needs_auth: tuple[str, ...] = (), **changes: Any) -> scrubber.ScrubContext:
    check = scrubber.EligibilityFact("active", DOS, date(2020, 1, 1), date(2099, 12, 31), needs_auth)
    return scrubber.ScrubContext(today=date.today(), eligibility=[check], **changes)


def auth_findings(body: dict[str, Any], ctx: scrubber.ScrubContext) -> list[tuple[str, str]]:
    data = ClaimData.model_validate(body)
    return [(f.field, f.message) for f in scrubber.scrub(data, ctx) if f.edit == "prior_authorization"]


def pyx12_errors(edi: str) -> list[str]:
    """pyx12's strict 837P validator (tests.conftest.pyx12_errors). It ships the 5010 837P map
    for X222A1 only; A2 is its errata with the same loops and segments, so the file is relabelled
    for the check (as tests/claims/test_x12_837.py does)."""
    return conftest.pyx12_errors(edi.replace("005010X222A2", "005010X222A1"))


def segments_of(edi: str) -> list[list[str]]:
    return [[s.id, *s.elements] for s in x12.parse(edi).transactions[0].segments]


def ref_g1_by_loop(edi: str) -> dict[str, list[str]]:
    """REF*G1 numbers per loop: '2300' before the first LX, else '2400.<LX01>'."""
    found: dict[str, list[str]] = {}
    loop = "2300"
    for seg in segments_of(edi):
        if seg[0] == "LX":
            loop = f"2400.{seg[1]}"
        elif seg[0] == "REF" and seg[1] == "G1":
            found.setdefault(loop, []).append(seg[2])
    return found


async def post_claim(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    created = await client.post("/v1/claims", json=body, headers=RW)
    assert created.status_code == 201, created.text
    return created.json()


async def scrub_of(client: Any, claim_id: str) -> dict[str, Any]:
    return (await client.post(f"/v1/claims/{claim_id}/scrub", headers=RW)).json()


async def errors_of(client: Any, claim_id: str) -> list[dict[str, Any]]:
    """The scrubber's error findings on the claim now."""
    return [f for f in (await scrub_of(client, claim_id))["findings"] if f["severity"] == "error"]


async def has_copies(settings: Any, patient_id: str, *, checks: int = 0, authorizations: int = 0) -> bool:
    """Our copies of this patient's eligibility checks and authorizations have arrived."""
    from tests.conftest import connect_as

    conn = await connect_as("claims", settings)
    try:
        have_checks = await conn.fetchval(
            "SELECT count(*) FROM eligibility_copies WHERE patient_id = $1", patient_id
        )
        have_auths = await conn.fetchval(
            "SELECT count(*) FROM authorization_copies WHERE patient_id = $1", patient_id
        )
        return have_checks >= checks and have_auths >= authorizations
    finally:
        await conn.close()


async def copy_shows_visits_used(settings: Any, authorization_id: uuid.UUID, used: int) -> bool:
    from tests.conftest import connect_as

    conn = await connect_as("claims", settings)
    try:
        value = await conn.fetchval(
            "SELECT visits_used FROM authorization_copies WHERE authorization_id = $1", authorization_id
        )
        return value == used
    finally:
        await conn.close()


# --- the scrubber's rule, without I/O ------------------------------------------------------


def test_an_authorization_for_a_service_type_covers_the_codes_of_that_type():
    """An authorization may name service types (PT) instead of codes: it covers 97110."""
    body = make_claim(lines=make_lines("97110"))
    pt = make_fact(service_type_codes=("PT",))
    assert auth_findings(body, make_context(("PT",), authorizations=[pt])) == []
    mri_only = make_fact(service_type_codes=("62",))
    assert [f for f, _ in auth_findings(body, make_context(("PT",), authorizations=[mri_only]))] == [
        "lines.0.code"
    ]


def test_a_referral_is_not_a_prior_authorization():
    """A referral (837P REF*9F) does not satisfy a payer's prior-authorization requirement."""
    body = make_claim(lines=make_lines("29881"))
    referral = make_fact(kind="referral")
    (finding,) = auth_findings(body, make_context(authorizations=[referral]))
    assert finding[0] == "lines.0.code" and "none is on file" in finding[1]


def test_a_typed_number_must_be_a_valid_authorization_on_file():
    """A number typed on the claim counts only when it is a valid authorization on file; a
    different valid authorization does not make a wrong or expired number right."""
    valid, expired = make_fact(number="PA-OK"), make_fact(number="PA-OLD", end_date=DOS - timedelta(days=1))
    ctx = make_context(authorizations=[valid, expired])
    assert auth_findings(make_claim(lines=make_lines("29881")), ctx) == []
    assert auth_findings(make_claim(lines=make_lines("29881"), prior_authorization_number="PA-OK"), ctx) == []
    (old,) = auth_findings(make_claim(lines=make_lines("29881"), prior_authorization_number="PA-OLD"), ctx)
    assert "PA-OLD" in old[1] and "expired or used up" in old[1]
    (unknown,) = auth_findings(make_claim(lines=make_lines("29881"), prior_authorization_number="PA-X"), ctx)
    assert "PA-X" in unknown[1] and "not on file" in unknown[1]


def test_no_visits_left_holds_a_new_visit_but_not_the_visit_already_counted():
    """Visits used up: a new claim is held; a claim whose own visit was counted (a
    resubmission or a correction of it) is not held by its own count."""
    used_up = make_fact(visits_allowed=2, visits_used=2)
    body = make_claim(lines=make_lines("29881"))
    (finding,) = auth_findings(body, make_context(authorizations=[used_up]))
    assert "expired or used up" in finding[1]
    assert auth_findings(body, make_context(authorizations=[used_up], visit_counted=True)) == []


# --- in the claims service ------------------------------------------------------------------

uses_events = pytest.mark.usefixtures("claims_consumer_from_now")


@uses_events
async def test_the_271s_prior_auth_flags_hold_a_claim_for_those_service_types(claims, settings, producer):
    """A 271 with EB11 = Y for 62 and PT (sandbox member SBX30001) reaches claims as
    eligibility.checked; a claim for 70553 (MRI, service type 62) and 97110 (PT) without an
    authorization is held by the scrubber instead of going out to be denied CO-197."""
    patient = unique("pat")
    async with claims() as (_, client):
        await publish(producer, make_check(patient, needs_auth=["62", "PT"]))
        await eventually(lambda: has_copies(settings, patient, checks=1), what="our copy of the check")
        claim = await post_claim(client, make_claim(patient, lines=make_lines("99213", "70553", "97110")))
        scrub = await scrub_of(client, claim["id"])
        held = [(f["edit"], f["field"]) for f in scrub["findings"] if f["severity"] == "error"]
        assert held == [("prior_authorization", "lines.1.code"), ("prior_authorization", "lines.2.code")]
        refused = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert refused.status_code == 409
        assert (await get_claim(client, claim["id"]))["status"] == "draft"


@uses_events
async def test_a_valid_authorization_on_file_goes_on_the_claim_as_2300_ref_g1(
    claims, settings, servers, producer
):
    """An authorization recorded in eligibility (authorization.recorded) for 29881 puts its
    number on the claim by itself: 837P loop 2300 REF*G1, and the claim as sent keeps it."""
    patient = unique("pat")
    auth = make_authorization(patient, service_codes=["29881"])
    submitted_start = await end_offsets(servers.kafka_bootstrap, "claim.submitted")
    async with claims() as (_, client):
        await make_eligibility(settings, patient, "SBX001", DOS.isoformat())
        await publish(producer, auth)
        await eventually(lambda: has_copies(settings, patient, authorizations=1), what="our copy")
        claim = await post_claim(client, make_claim(patient, lines=make_lines("29881")))
        sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert sent.status_code == 200, sent.text
        assert sent.json()["data"]["prior_authorization_number"] == auth.number
        edi = (await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)).text
        assert pyx12_errors(edi) == []
        assert ref_g1_by_loop(edi) == {"2300": [auth.number]}
        event = await read_event(servers.kafka_bootstrap, "claim.submitted", submitted_start, claim["id"])
        assert [line["prior_authorization_number"] for line in event["lines"]] == [auth.number]


@uses_events
async def test_an_authorization_for_some_lines_goes_on_those_lines_as_2400_ref_g1(claims, settings, producer):
    """The authorization covers the MRI only: its number goes on that line (loop 2400
    REF*G1), not on the claim (2300), since the office visit is not authorized by it."""
    patient = unique("pat")
    auth = make_authorization(patient, service_codes=["70553"], visits_allowed=1)
    async with claims() as (_, client):
        await publish(producer, make_check(patient, needs_auth=["62", "PT"]))
        await publish(producer, auth)
        await eventually(lambda: has_copies(settings, patient, checks=1, authorizations=1), what="copies")
        claim = await post_claim(client, make_claim(patient, lines=make_lines("99213", "70553")))
        sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert sent.status_code == 200, sent.text
        lines = sent.json()["data"]["lines"]
        assert [line.get("prior_authorization_number") for line in lines] == [None, auth.number]
        assert sent.json()["data"]["prior_authorization_number"] is None
        edi = (await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)).text
        assert pyx12_errors(edi) == []
        assert ref_g1_by_loop(edi) == {"2400.2": [auth.number]}
        segments = segments_of(edi)
        at = segments.index(["REF", "G1", auth.number])
        assert segments[at - 1][:2] == ["DTP", "472"]  # after the line's date, as the guide orders


@uses_events
async def test_the_last_visit_holds_the_next_claim_but_not_a_resubmission_or_correction(
    claims, settings, servers, producer
):
    """One visit allowed. The first claim takes it; once eligibility has counted it (its
    authorization.recorded says 1 of 1 used) a claim for another day is held; the first
    claim, rejected and sent again or corrected, is not held by its own visit, and its
    claim.submitted names the chain's first claim so eligibility does not count it again."""
    patient = unique("pat")
    auth = make_authorization(patient, service_codes=["29881"], visits_allowed=1)
    submitted_start = await end_offsets(servers.kafka_bootstrap, "claim.submitted")
    async with claims() as (_, client):
        await make_eligibility(settings, patient, "SBX001", DOS.isoformat())
        await publish(producer, auth)
        await eventually(lambda: has_copies(settings, patient, authorizations=1), what="our copy")
        first = await post_claim(client, make_claim(patient, lines=make_lines("29881")))
        assert (await client.post(f"/v1/claims/{first['id']}/submit", headers=RW)).status_code == 200

        # Eligibility counted the visit and published the authorization's new state.
        await publish(producer, auth.model_copy(update={"visits_used": 1}))
        await eventually(lambda: copy_shows_visits_used(settings, auth.authorization_id, 1), what="1 used")
        later = await post_claim(
            client, make_claim(patient, lines=make_lines("29881", dos=DOS - timedelta(days=1)))
        )
        (finding,) = [
            f for f in (await scrub_of(client, later["id"]))["findings"] if f["severity"] == "error"
        ]
        assert finding["edit"] == "prior_authorization" and "used up" in finding["message"]

        # The first claim is rejected, fixed and sent again: its visit is already counted.
        await publish(
            producer,
            ClaimRejected(
                claim_id=uuid.UUID(first["id"]),
                patient_control_number=first["patient_control_number"],
                reasons=[RejectionReason(code="A7:562", message="Entity's NPI")],
                rejected_at=datetime.now(UTC),
            ),
        )
        await eventually(lambda: get_claim_if(client, first["id"], "rejected"))
        again = await client.post(f"/v1/claims/{first['id']}/submit", headers=RW)
        assert again.status_code == 200, again.text

        # Accepted, then corrected (frequency 7): the correction is the same visit.
        await publish(
            producer,
            ClaimAcknowledged(
                claim_id=uuid.UUID(first["id"]),
                patient_control_number=first["patient_control_number"],
                payer_claim_control_number=unique("ICN"),
                acknowledged_at=datetime.now(UTC),
            ),
        )
        await eventually(lambda: get_claim_if(client, first["id"], "accepted"))
        corrected = await client.post(
            f"/v1/claims/{first['id']}/corrections", json={"place_of_service": "22"}, headers=RW
        )
        assert corrected.status_code == 201, corrected.text
        new = corrected.json()
        edi = (await client.get(f"/v1/claims/{new['id']}/837", headers=RW)).text
        assert pyx12_errors(edi) == [] and ref_g1_by_loop(edi) == {"2300": [auth.number]}

        events = {}
        for claim_id in (first["id"], new["id"]):
            events[claim_id] = await read_event(
                servers.kafka_bootstrap, "claim.submitted", submitted_start, claim_id
            )
        assert events[first["id"]].get("first_claim_id") is None
        assert events[new["id"]]["first_claim_id"] == first["id"]
        assert events[new["id"]]["lines"][0]["prior_authorization_number"] == auth.number


# --- the story, across the real services ----------------------------------------------------


@contextlib.asynccontextmanager
async def running_eligibility(settings: Any, sandbox: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The eligibility service in process, asking the test sandbox's payers (X12 270/271)."""
    from services.eligibility.service import SERVICE
    from services.eligibility.settings import EligibilitySettings
    from shared.app import create_app
    from tests.eligibility.helpers import make_payers_override

    app = create_app(SERVICE, settings)
    app.state.eligibility_settings = EligibilitySettings(
        payers_override=make_payers_override(sandbox.base_url)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://eligibility", timeout=60
        ) as client:
            yield app, client


async def submitted_event_id(bootstrap: str, start: Any, claim_id: str) -> uuid.UUID:
    """The CloudEvents id of the claim.submitted that claims published for this claim."""
    records = await read_from(
        bootstrap, "claim.submitted", start, until=lambda rs: any(r.key == claim_id.encode() for r in rs)
    )
    record = next(r for r in records if r.key == claim_id.encode())
    return uuid.UUID(dict(record.headers)["ce_id"].decode())


@uses_events
async def test_story_the_271_flags_auth_the_claim_is_held_authorized_paid_and_its_visit_counted_once(
    claims, settings, servers, service, admin
):
    """The must-show story, with eligibility, claims and payments in process and the payer
    sandbox as payer and clearinghouse:
    1. the 271 for SBX30001 flags 62 (MRI) with EB11 = Y, and the MRI claim is held;
    2. an authorization for 70553 is recorded in eligibility;
    3. the claim goes out with it (2400 REF*G1, pyx12-valid) and is paid, not denied CO-197;
    4. eligibility counts the visit once: a correction of the claim counts nothing more,
       and with its one visit used, another MRI claim is held."""
    from services.payments.service import SERVICE as PAYMENTS
    from tests.eligibility.helpers import make_check_body

    bootstrap, prefix = servers.kafka_bootstrap, settings.consumer_group_prefix
    await start_group_at_end(bootstrap, prefix + "eligibility", ["claim.submitted", "fee_schedule.updated"])
    await start_group_at_end(bootstrap, prefix + "payments", list(PAYMENTS.handlers))
    patient = unique("story")
    submitted_start = await end_offsets(bootstrap, "claim.submitted")
    async with (
        running_clearinghouse(settings) as sandbox,
        running_eligibility(settings, sandbox) as (eligibility_app, eligibility),
        claims() as (_, client),
        service("payments") as (payments_app, _),
    ):
        for app in (eligibility_app, payments_app):
            await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)

        # 1. The 271 flags MRI (62) and PT as needing authorization; the claim is held.
        body = make_check_body(
            "SBX30001", patient_id=patient, service_type_codes=["30", "98"], date_of_service=DOS.isoformat()
        )
        check = await eligibility.post("/v1/eligibility/checks", json=body, headers=token())
        assert check.status_code == 200, check.text
        flagged = {b["service_type_code"] for b in check.json()["benefits"] if b["prior_auth_required"]}
        assert flagged == {"62", "PT"}
        await eventually(lambda: has_copies(settings, patient, checks=1), what="claims' copy of the check")
        claim_body = make_claim(patient, lines=make_lines("99213", "70553"))
        claim_body["subscriber"]["member_id"] = "SBX30001"
        claim = await post_claim(client, claim_body)
        held = [f for f in (await scrub_of(client, claim["id"]))["findings"] if f["severity"] == "error"]
        assert [(f["edit"], f["field"]) for f in held] == [("prior_authorization", "lines.1.code")]
        assert (await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)).status_code == 409

        # 2. The payer authorizes the MRI (one visit); it is recorded in eligibility.
        recorded = await eligibility.post(
            "/v1/authorizations",
            json={
                "patient_id": patient,
                "payer_id": "SBX001",
                "number": unique("MRI").upper(),
                "service_codes": ["70553"],
                "start_date": (DOS - timedelta(days=7)).isoformat(),
                "end_date": (DOS + timedelta(days=60)).isoformat(),
                "visits_allowed": 1,
            },
            headers=token(),
        )
        assert recorded.status_code == 201, recorded.text
        auth = recorded.json()
        await eventually(lambda: has_copies(settings, patient, authorizations=1), what="claims' copy")

        # 3. The claim scrubs clean, goes out with the number on the MRI line, and is paid.
        sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=RW)
        assert sent.status_code == 200, sent.text
        edi = (await client.get(f"/v1/claims/{claim['id']}/837", headers=RW)).text
        assert pyx12_errors(edi) == []
        assert ref_g1_by_loop(edi) == {"2400.2": [auth["number"]]}
        paid = await eventually(
            lambda: get_claim_if(client, claim["id"], "paid", "partial", "denied"), timeout=60, what="paid"
        )
        assert paid["status"] == "paid", paid
        reasons = {(a["group_code"], a["reason_code"]) for a in paid["adjudication"]["adjustments"]}
        assert ("CO", "197") not in reasons and float(paid["paid_amount"]) > 0

        # 4. The visit is counted once, in eligibility and in claims' copy.
        async def visits_used() -> int:
            answer = await eligibility.get(f"/v1/authorizations/{auth['id']}", headers=token())
            return answer.json()["visits_used"]

        await eventually(lambda: used_is(visits_used, 1), what="the visit counted")
        auth_id = uuid.UUID(auth["id"])
        await eventually(lambda: copy_shows_visits_used(settings, auth_id, 1), what="claims' copy: 1 used")
        corrected = await client.post(
            f"/v1/claims/{claim['id']}/corrections", json={"diagnoses": ["E11.9", "I10"]}, headers=RW
        )
        assert corrected.status_code == 201, corrected.text
        event_id = await submitted_event_id(bootstrap, submitted_start, corrected.json()["id"])
        await eventually(
            lambda: admin.fetchval("SELECT count(*) FROM eligibility.inbox WHERE event_id = $1", event_id),
            what="eligibility read the correction",
        )
        assert await visits_used() == 1
        another = await post_claim(
            client, make_claim(patient, lines=make_lines("70553", dos=DOS - timedelta(days=1)))
        )
        (finding,) = [
            f for f in (await scrub_of(client, another["id"]))["findings"] if f["severity"] == "error"
        ]
        assert finding["edit"] == "prior_authorization" and "used up" in finding["message"]
        print(
            f"\n[story] held: {held[0]['message']} | REF*G1 {auth['number']} on line 2 | "
            f"paid {paid['paid_amount']} | visits used {await visits_used()} of {auth['visits_allowed']}"
        )


async def used_is(used: Any, expected: int) -> bool:
    return await used() == expected
