"""One combined message per account per cycle (issue 15, item 13).

The practice's policy: a patient hears from us once per billing cycle, one message with every
part of it in order (late installments, then the installment coming due), not one email and one
text per event in the same second. Payments runs the cycle; what the patient receives is read
from the mail and SMS sink and the notifications API."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import httpx

from services.notifications.messages.domain import find_phi
from services.notifications.templates.domain import PHI_TRAP_VALUES
from services.payments.service import SERVICE as PAYMENTS
from shared.app import create_app
from tests.conftest import eventually, token, unique
from tests.notifications.helpers import get_notifications, put_recipient, running_notifications, when

PAY = {**token("payments:read", "payments:write", "payments:admin")}


@contextlib.asynccontextmanager
async def running_payments(settings):
    """Payments' HTTP API and outbox relay, without its consumers or background cycle (this test
    runs the cycle itself, for a date of its choosing)."""
    app = create_app(replace(PAYMENTS, handlers={}, workers=[]), settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://payments"
        ) as client:
            yield client


async def test_a_cycle_sends_one_ordered_email_and_at_most_one_text_per_account(settings, sink):
    account = unique("acct")
    email, phone = f"{account}@mail.example", "+15555550177"
    async with (
        running_notifications(settings, sink) as (_, notifications),
        running_payments(settings) as payments,
    ):
        await put_recipient(notifications, account, kind="patient", email=email, phone=phone)
        charged = await payments.post(
            f"/v1/accounts/{account}/charges",
            json={"amount": "270.00", "description": "Procedure", "service_date": "2026-01-05"},
            headers={**PAY, "Idempotency-Key": unique("key")},
        )
        assert charged.status_code == 201, charged.text
        plan = await payments.post(
            "/v1/payment-plans",
            json={"account_id": account, "amount": "270.00", "installments": 3, "frequency": "weekly",
                  "first_due_date": "2026-02-01"},
            headers=PAY,
        )  # fmt: skip
        assert plan.status_code == 201, plan.text
        # On Feb 10 installments 1 (Feb 1) and 2 (Feb 8) are late and 3 (Feb 15) is coming due.
        cycle = await payments.post(
            "/v1/payment-plans/run-cycle", params={"as_of": "2026-02-10"}, headers=PAY
        )
        assert cycle.status_code == 200, cycle.text
        assert (cycle.json()["installments_late"], cycle.json()["installments_due"]) == (2, 1)

        mails = await eventually(lambda: sink.messages(to=email), timeout=60, what="the cycle's email")
        await asyncio.sleep(2.0)  # the worker's further rounds: nothing else may arrive
        mails = await sink.messages(to=email)
        assert len(mails) == 1, [m["subject"] for m in mails]
        texts = await sink.sms(to=phone)
        assert len(texts) == 1, [t["body"] for t in texts]
        body = mails[0]["text"]
        parts = [body.index(f"Installment {n}") for n in (1, 2, 3)]
        assert parts == sorted(parts), body  # late ones first, oldest first, then what is coming due
        assert "$90.00" in body and "late" in body and "due on Feb 15, 2026" in body
        assert find_phi(mails[0]["subject"] + "\n" + body, PHI_TRAP_VALUES) == []
        inbox = await eventually(
            lambda: when(get_notifications(notifications, account), lambda ns: len(ns) >= 1), timeout=30
        )
        assert [n["template"] for n in inbox] == ["account_notice"]
