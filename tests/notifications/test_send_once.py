"""Sent once at the provider boundary, on real PostgreSQL, Kafka and the mail and SMS sink.

A sender that dies after the provider took a message and before it recorded that cannot know
whether the message went out, so the next sender sends it again: what keeps that from being a
second message is that the retry carries the same identity (the email's Message-ID, the SMS's
Idempotency-Key, both the delivery id) and the provider keeps one message per identity, as real
ones do. The lease on a claimed delivery is short and renewed while the send runs, so a dead
sender's work comes back soon and a live one's never goes to another sender mid-send.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from tests.conftest import eventually, unique
from tests.notifications.helpers import (
    make_group_at_end,
    make_payment,
    notifications_process,
    publish,
    put_recipient,
    running_notifications,
    when,
)

# The first instance: a short lease, and one send at a time, with timeouts long enough that no
# send gives up while the sink holds its answer.
FIRST = {
    "LEASE_SECONDS": "2",
    "WORKER_BATCH_SIZE": "1",
    "SEND_CONCURRENCY": "1",
    "SMTP_TIMEOUT_SECONDS": "5",
    "SMS_TIMEOUT_SECONDS": "5",
}


async def deliveries_of(db: Any, recipient_id: str) -> dict[str, Any]:
    """The recipient's email and SMS deliveries by channel (id, status, attempts)."""
    async with db.session() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT channel, id, status, attempts FROM deliveries "
                    "WHERE recipient_id = :r AND channel IN ('email', 'sms')"
                ),
                {"r": recipient_id},
            )
        ).all()
    return {r.channel: r for r in rows}


async def test_a_sender_killed_between_sending_and_recording_leaves_one_message_per_delivery(
    settings, sink, producer, db
):
    settings = await make_group_at_end(settings)
    account = unique("crash")
    email, phone = f"{account}@mail.example", "+15555550161"
    # First instance: its own process. The sink keeps the email and the SMS as they arrive but
    # holds its answers, and the process is killed -9 while it waits for them: the provider has
    # the messages, the deliveries are still pending.
    async with (
        sink.holding_answers(),
        notifications_process(settings, sink, **FIRST) as (proc, client),
    ):
        await put_recipient(client, account, kind="patient", email=email, phone=phone)
        await publish(producer, make_payment(account, "31.40"))
        await eventually(lambda: when(sink.messages(to=email), bool), timeout=60, what="email at the sink")
        await eventually(lambda: when(sink.sms(to=phone), bool), timeout=60, what="SMS at the sink")
        proc.kill()
        await proc.wait()
    before = await deliveries_of(db, account)
    assert {c: r.status for c, r in before.items()} == {"email": "pending", "sms": "pending"}

    # A second instance takes the deliveries over once the dead one's lease runs out and sends
    # them again, with the same identities.
    async with running_notifications(settings, sink, LEASE_SECONDS="2"):

        async def sent(channel: str) -> Any:
            row = (await deliveries_of(db, account))[channel]
            return row if row.status == "sent" else None

        email_row = await eventually(lambda: sent("email"), timeout=120, what="email sent")
        await asyncio.sleep(1.0)  # a few more worker rounds: nothing else may arrive
        mails = await sink.messages(to=email)
        assert len(mails) == 1, [m["message_id"] for m in mails]
        (mail,) = mails
        assert mail["message_id"] == f"<{email_row.id}@notifications.revcycle>"
        assert mail["times_received"] == 2  # the retry reached the sink, with the same Message-ID
        assert email_row.attempts == 2

        sms_row = await eventually(lambda: sent("sms"), timeout=120, what="SMS sent")
        await asyncio.sleep(1.0)
        texts = await sink.sms(to=phone)
        assert len(texts) == 1, texts
        (sms,) = texts
        assert sms["idempotency_key"] == str(sms_row.id)
        assert sms["times_received"] == 2  # the retry reached the provider, with the same key
        assert sms_row.attempts == 2


async def test_a_send_slower_than_the_lease_is_not_sent_again_while_it_runs(settings, sink, producer, db):
    settings = await make_group_at_end(settings)
    account = unique("slowsend")
    email, phone = f"{account}@mail.example", "+15555550162"
    # Timeouts far longer than the held answer: the send is slow, not failed. A 3 s lease beats
    # every second; a 1 s lease left each renewal a third of a second, which a loaded CI machine
    # (TLS to PostgreSQL, the whole suite beside it) sometimes missed three times running.
    slow = {"LEASE_SECONDS": "3", "SMTP_TIMEOUT_SECONDS": "60", "SMS_TIMEOUT_SECONDS": "60"}
    async with running_notifications(settings, sink, **slow) as (_, client):
        await put_recipient(client, account, kind="patient", email=email, phone=phone)
        async with sink.holding_answers():
            await publish(producer, make_payment(account, "27.18"))
            await eventually(
                lambda: when(sink.messages(to=email), bool), timeout=60, what="email at the sink"
            )
            await eventually(lambda: when(sink.sms(to=phone), bool), timeout=60, what="SMS at the sink")
            # Three leases long: the sender's heartbeat keeps the rows its own, so the worker's
            # other round (and any replica) leaves them alone.
            await asyncio.sleep(9.0)
            assert [m["times_received"] for m in await sink.messages(to=email)] == [1]
            assert [m["times_received"] for m in await sink.sms(to=phone)] == [1]

        async def both_sent() -> dict[str, Any] | None:
            rows = await deliveries_of(db, account)
            return rows if all(r.status == "sent" for r in rows.values()) else None

        rows = await eventually(both_sent, timeout=30, what="both deliveries sent")
    assert rows["email"].attempts == 1 and rows["sms"].attempts == 1
