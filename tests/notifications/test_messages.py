"""Who hears what: opt-outs and quiet hours respected, the required notice sent anyway, and every
event type routed to its patient or staff."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.notifications.messages.domain import find_phi
from shared.events.catalogue import (
    AccountSentToCollections,
    Adjustment,
    AuthorizationExpiring,
    ClaimDenied,
    ClaimFollowupDue,
    ClaimRejected,
    EligibilityChecked,
    InstallmentDue,
    PaymentLate,
    PaymentPosted,
    PaymentUnderpaid,
    RejectionReason,
    StatementIssued,
)
from tests.conftest import eventually, unique
from tests.notifications.helpers import (
    NOW,
    WRITE,
    find_delivery,
    get_notifications,
    publish,
    put_recipient,
    running_notifications,
)

# --- must show: opt-out respected, required notice still goes out ------------------------------


async def test_opt_out_is_respected_and_the_required_collections_notice_goes_out(settings, sink, producer):
    account = unique("opt")
    email, phone = f"{account}@mail.example", "+15555550155"
    now_utc = datetime.now(UTC)
    quiet = {
        "start": f"{(now_utc - timedelta(hours=1)):%H:%M}",
        "end": f"{(now_utc + timedelta(hours=2)):%H:%M}",
    }
    async with running_notifications(settings, sink) as (_, client):
        await put_recipient(client, account, kind="patient", email=email, phone=phone)
        resp = await client.put(
            f"/v1/recipients/{account}/preferences",
            json={
                "rules": [
                    {"category": "statements", "channel": "email", "opt_in": False},
                    {"category": "statements", "channel": "sms", "opt_in": False},
                    {"category": "collections", "channel": "email", "opt_in": False},
                    {"category": "collections", "channel": "sms", "opt_in": False},
                    {"category": "payment_plans", "channel": "email", "opt_in": True, "quiet_hours": quiet},
                    {"category": "payment_plans", "channel": "sms", "opt_in": True, "quiet_hours": quiet},
                ]
            },
            headers=WRITE,
        )
        assert resp.status_code == 200, resp.text
        await publish(
            producer,
            StatementIssued(
                statement_id=uuid.uuid4(), account_id=account, balance=Decimal("75.00"),
                due_date=date.today() + timedelta(days=30), issued_at=NOW,
            ),
        )  # fmt: skip
        await publish(
            producer,
            InstallmentDue(
                plan_id=uuid.uuid4(), account_id=account, installment_number=3, amount=Decimal("25.00"),
                due_date=date.today() + timedelta(days=5),
            ),
        )  # fmt: skip
        await publish(
            producer,
            AccountSentToCollections(
                account_id=account,
                agency="Acme Recovery Services",
                balance=Decimal("612.40"),
                referred_at=NOW,
            ),
        )
        notice = await eventually(lambda: sink.messages(to=email), timeout=60)
        await eventually(lambda: sink.sms(to=phone), timeout=20)
        await asyncio.sleep(1.0)
        mails = await sink.messages(to=email)
        assert len(mails) == 1 and "required notice" in notice[0]["text"] and "$612.40" in notice[0]["text"]
        assert len(await sink.sms(to=phone)) == 1

        by_template = {n["template"]: n for n in await get_notifications(client, account)}
        assert set(by_template) == {"statement_ready", "installment_reminder", "collections_notice"}
        statement = by_template["statement_ready"]
        assert [(d["channel"], d["status"], d["reason"]) for d in statement["deliveries"]] == [
            ("email", "suppressed", "opted_out"),
            ("inbox", "sent", None),
            ("sms", "suppressed", "opted_out"),
        ]
        collections = by_template["collections_notice"]
        assert collections["required"] is True
        assert {d["channel"]: d["status"] for d in collections["deliveries"]} == {
            "email": "sent", "inbox": "sent", "sms": "sent",
        }  # fmt: skip
        # Quiet hours hold the email until they end; the in-app message is there already.
        reminder = find_delivery(by_template["installment_reminder"], "email")
        assert reminder["status"] == "pending" and reminder["reason"] == "quiet_hours"
        assert datetime.fromisoformat(reminder["next_attempt_at"]) > now_utc + timedelta(minutes=30)


# --- must show: claim.denied reaches billing staff; every event of issue 7 ---------------------


async def test_claim_denied_reaches_billing_staff_with_the_recommended_action_and_every_event_is_routed(
    settings, sink, producer
):
    payer = unique("PAY")
    billing, front, coder, watcher = (unique(p) for p in ("billing", "front", "coder", "watcher"))
    patient = unique("pat")
    claim_id = uuid.uuid4()
    async with running_notifications(settings, sink) as (_, client):
        await put_recipient(
            client, billing, kind="staff", roles=["billing"], email=f"{billing}@practice.example"
        )
        await put_recipient(client, front, kind="staff", roles=["front_desk"])
        await put_recipient(client, coder, kind="staff", roles=["coding"])
        await put_recipient(client, watcher, kind="staff", payer_ids=[payer])  # subscribed by payer
        await put_recipient(client, patient, kind="patient", email=f"{patient}@mail.example")

        staff_events = {
            "claim_denied": ClaimDenied(
                claim_id=claim_id, payer_id=payer, patient_id=patient, action="appeal", denied_at=NOW,
                adjustments=[Adjustment(group_code="CO", reason_code="50", amount=Decimal("300.00"))],
                denied_amount=Decimal("300.00"),
            ),
            "claim_rejected": ClaimRejected(
                claim_id=claim_id, patient_control_number="PCN1", rejected_at=NOW, payer_id=payer,
                reasons=[RejectionReason(code="A7:562", message="Entity's NPI")],
            ),
            "claim_followup": ClaimFollowupDue(
                claim_id=claim_id, payer_id=payer, submitted_at=NOW, days_outstanding=40, due_at=NOW
            ),
            "payment_underpaid": PaymentUnderpaid(
                claim_id=claim_id, payer_id=payer, code="99213", expected_allowed=Decimal("92.00"),
                actual_allowed=Decimal("80.00"), variance=Decimal("12.00"), detected_at=NOW,
            ),
            "authorization_expiring": AuthorizationExpiring(
                authorization_id=uuid.uuid4(), patient_id=patient, payer_id=payer,
                end_date=date.today() + timedelta(days=5), days_left=5,
            ),
        }  # fmt: skip
        patient_events = {
            "insurance_processed": PaymentPosted(
                payment_id=uuid.uuid4(), source="insurer", claim_id=claim_id, account_id=patient,
                amount=Decimal("80.00"), method="eft", posted_at=NOW, payer_id=payer,
                patient_responsibility=Decimal("20.00"),
            ),
            "statement_ready": StatementIssued(
                statement_id=uuid.uuid4(), account_id=patient, balance=Decimal("20.00"),
                due_date=date.today() + timedelta(days=30), issued_at=NOW,
            ),
            "installment_reminder": InstallmentDue(
                plan_id=uuid.uuid4(), account_id=patient, installment_number=1, amount=Decimal("10.00"),
                due_date=date.today() + timedelta(days=3),
            ),
            "payment_late": PaymentLate(
                account_id=patient, amount=Decimal("10.00"), due_date=date.today() - timedelta(days=4),
                days_late=4,
            ),
            "coverage_problem": EligibilityChecked(
                check_id=uuid.uuid4(), patient_id=patient, payer_id=payer, status="inactive",
                date_of_service=date.today() + timedelta(days=2), checked_at=NOW,
            ),
            "collections_notice": AccountSentToCollections(
                account_id=patient, agency="Acme Recovery Services", balance=Decimal("20.00"), referred_at=NOW
            ),
        }  # fmt: skip
        causes: dict[str, str] = {}
        for template, payload in {**staff_events, **patient_events}.items():
            causes[str((await publish(producer, payload)).id)] = template
        # An active check concerns nobody.
        await publish(
            producer,
            EligibilityChecked(
                check_id=uuid.uuid4(), patient_id=patient, payer_id=payer, status="active",
                date_of_service=date.today() + timedelta(days=2), checked_at=NOW,
            ),
        )  # fmt: skip

        async def received(recipient: str, count: int) -> dict[str, dict[str, Any]] | None:
            mine = {
                causes[n["cause_event_id"]]: n
                for n in await get_notifications(client, recipient, limit=200)
                if n["cause_event_id"] in causes
            }
            return mine if len(mine) >= count else None

        billing_inbox = await eventually(lambda: received(billing, 4), timeout=60)
        denied = billing_inbox["claim_denied"]
        assert "Recommended action: Appeal" in denied["body"] and "$300.00" in denied["body"]
        assert denied["category"] == "denials" and denied["subject"].startswith("Denial to work")
        assert set(billing_inbox) == {"claim_denied", "claim_rejected", "claim_followup", "payment_underpaid"}
        assert find_delivery(denied, "email")["status"] in ("pending", "sent")

        patient_inbox = await eventually(lambda: received(patient, 6), timeout=30)
        assert set(patient_inbox) == set(patient_events)
        watcher_inbox = await eventually(lambda: received(watcher, 5), timeout=30)
        assert set(watcher_inbox) == set(staff_events)
        assert set(await eventually(lambda: received(front, 1), timeout=30)) == {"authorization_expiring"}
        assert set(await eventually(lambda: received(coder, 1), timeout=30)) == {"claim_rejected"}

        email = await eventually(lambda: sink.messages(to=f"{billing}@practice.example"), timeout=30)
        assert any("Recommended action: Appeal" in m["text"] for m in email)
        for m in email + await sink.messages(to=f"{patient}@mail.example"):
            assert find_phi(m["subject"] + "\n" + m["text"], [patient]) == [], m["subject"]
