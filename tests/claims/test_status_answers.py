"""The claims side of 276/277 claim status (005010X212) and of file acknowledgments: each
answer the gateway reports is kept in the claim's `status_answers`, written in its history
("277 F0:3 effective 2005-09-15, payer claim …") and moves the status only as the category
allows (money moves only with an 835); an event delivered twice counts once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.claims.followups.domain import status_after_answer
from shared.events import new_event
from shared.events.catalogue import ClaimStatusCode, ClaimStatusReported, SetAck, SubmissionFileAcknowledged
from tests.claims.helpers import (
    TEST_EHR_SOURCE,
    get_claim,
    get_claim_if,
    make_claim,
    post_submitted_claim,
)
from tests.conftest import connect_as, encode_signed, eventually, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now", "practice_providers")


def report(claim: dict[str, Any], category: str, status: str, **extra: Any) -> ClaimStatusReported:
    """What the gateway publishes for one 277 X212 claim status answer about `claim`."""
    return ClaimStatusReported(
        claim_id=uuid.UUID(claim["id"]),
        patient_control_number=claim["patient_control_number"],
        payer_id=claim["payer_id"],
        statuses=[
            ClaimStatusCode(
                category_code=category,
                status_code=status,
                category_description=f"category {category}",
                status_description=f"status {status}",
            )
        ],
        received_at=datetime.now(UTC),
        **extra,
    )


async def send(producer: Any, payload: Any, times: int = 1) -> uuid.UUID:
    """Publish one event (the same event `times` times, as a redelivery would)."""
    event = new_event(payload, source=TEST_EHR_SOURCE)
    topic, key, value, headers = encode_signed(event)
    for _ in range(times):
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    return event.id


def test_only_the_categories_that_say_so_move_a_claim() -> None:
    assert status_after_answer("submitted", "A1") == "accepted"
    assert status_after_answer("submitted", "P3") == "accepted"
    assert status_after_answer("submitted", "F2") == "accepted"
    assert status_after_answer("accepted", "F1") is None  # money only from the 835
    assert status_after_answer("accepted", "A4") == "rejected"
    assert status_after_answer("submitted", "A7") == "rejected"
    assert status_after_answer("paid", "A4") is None
    assert status_after_answer("submitted", "E0") is None


async def test_a_277_answer_is_recorded_once_moves_the_claim_and_restarts_the_window(
    claims, settings, producer
):
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        answer = report(
            claim,
            "F0",
            "3",
            effective_date=date(2005, 9, 15),
            payer_claim_control_number="PCCN12345",
            total_charge=Decimal("8513.88"),
            paid_amount=Decimal("7599.00"),
        )
        await send(producer, answer, times=2)
        moved = await eventually(lambda: get_claim_if(client, claim["id"], "accepted"), what="accepted")
        answers = moved["status_answers"]
        assert [(a["source"], a["category_code"], a["status_code"]) for a in answers] == [("277", "F0", "3")]
        assert answers[0]["paid_amount"] == "7599.00" and answers[0]["effective_date"] == "2005-09-15"
        reasons = [h["reason"] for h in moved["history"]]
        assert "277 F0:3 effective 2005-09-15, payer claim PCCN12345, paid 7599.00" in reasons
        assert moved["payer_claim_control_number"] == "PCCN12345"
        assert moved["paid_amount"] is None  # the 835 brings the money, not the 277

        # A not-found answer (A4: the payer lost it) on the accepted claim: rejected, to resend.
        await send(producer, report(claim, "A4", "35"))
        lost = await eventually(lambda: get_claim_if(client, claim["id"], "rejected"), what="rejected")
        assert [a["category_code"] for a in lost["status_answers"]] == ["F0", "A4"]
        assert any((h["reason"] or "").startswith("277 A4:35") for h in lost["history"])

    conn = await connect_as("claims", settings)
    try:
        row = await conn.fetchrow(
            "SELECT followup_from, followup_published_at FROM claims WHERE id = $1", uuid.UUID(claim["id"])
        )
    finally:
        await conn.close()
    assert row["followup_from"] is not None and row["followup_published_at"] is None


async def test_a_pended_answer_is_history_without_a_move_on_an_accepted_claim(claims, settings, producer):
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        await send(producer, report(claim, "A1", "20"))
        await eventually(lambda: get_claim_if(client, claim["id"], "accepted"), what="accepted")
        await send(producer, report(claim, "P3", "317"))

        async def pended() -> dict[str, Any] | None:
            got = await get_claim(client, claim["id"])
            return got if len(got["status_answers"]) == 2 else None

        got = await eventually(pended, what="second answer")
        assert got["status"] == "accepted"
        last = got["history"][-1]
        assert (last["from_status"], last["to_status"], last["reason"]) == (
            "accepted",
            "accepted",
            "277 P3:317",
        )


async def test_a_999_acknowledgment_is_in_the_claims_answers_and_history(claims, settings, producer):
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        ack = SubmissionFileAcknowledged(
            file_id=uuid.uuid4(),
            partner_id="testch",
            file_name="TESTCH_000000017_20261205.837",
            interchange_control_number="000000017",
            group_control_number="17",
            kind="999",
            code="A",
            description="Accepted",
            sets=[SetAck(control_number="0001", code="A", claim_ids=[uuid.UUID(claim["id"])])],
            received_at=datetime.now(UTC),
        )
        await send(producer, ack, times=2)

        async def recorded() -> dict[str, Any] | None:
            got = await get_claim(client, claim["id"])
            return got if got["status_answers"] else None

        got = await eventually(recorded, what="999 answer")
        assert [(a["source"], a["category_code"]) for a in got["status_answers"]] == [("999", "A")]
        assert got["status"] == "submitted"
        assert got["history"][-1]["reason"] == "999 A: file TESTCH_000000017_20261205.837, set 0001"


async def test_the_277ca_codes_of_an_acknowledgment_and_a_rejection_are_status_answers(
    claims, settings, producer
):
    from shared.events.catalogue import ClaimAcknowledged, ClaimRejected, RejectionReason

    async with claims() as (_, client):
        accepted = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        rejected = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        code = ClaimStatusCode(
            category_code="A2",
            status_code="20",
            category_description="Acknowledgement/Acceptance into adjudication system",
            status_description="Accepted for processing.",
        )
        ack = ClaimAcknowledged(
            claim_id=uuid.UUID(accepted["id"]),
            patient_control_number=accepted["patient_control_number"],
            payer_claim_control_number="PCCN-277CA",
            acknowledged_at=datetime.now(UTC),
            source="277CA",
            statuses=[code],
        )
        reason = RejectionReason(
            code="A7:562:85",
            message="Entity's National Provider Identifier (NPI)",
            source="277CA",
            category_code="A7",
            status_code="562",
            entity_code="85",
        )
        rejection = ClaimRejected(
            claim_id=uuid.UUID(rejected["id"]),
            patient_control_number=rejected["patient_control_number"],
            reasons=[reason],
            rejected_at=datetime.now(UTC),
        )
        await send(producer, ack, times=2)
        await send(producer, rejection)
        got = await eventually(lambda: get_claim_if(client, accepted["id"], "accepted"), what="accepted")
        assert [(a["source"], a["category_code"], a["status_code"]) for a in got["status_answers"]] == [
            ("277CA", "A2", "20")
        ]
        assert got["status_answers"][0]["payer_claim_control_number"] == "PCCN-277CA"
        lost = await eventually(lambda: get_claim_if(client, rejected["id"], "rejected"), what="rejected")
        answer = lost["status_answers"][0]
        assert (answer["source"], answer["category_code"], answer["status_code"], answer["entity_code"]) == (
            "277CA",
            "A7",
            "562",
            "85",
        )
