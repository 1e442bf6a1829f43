"""Issue 20 must-show, payments' part of "the patient is told": an inpatient stay's 835 posted by
payments reaches the patient through the existing path (payment.posted → notifications → mail),
with the patient's share. Real PostgreSQL, Kafka and SMTP (the local sink on ephemeral ports); the
notifications service runs in process with a consumer group that starts at the end of its topics."""

from __future__ import annotations

from deploy.smtp_sink.testing import running_sink
from tests.conftest import eventually, unique
from tests.notifications.helpers import make_group_at_end, put_recipient, running_notifications
from tests.payments.helpers import wait_for_charge
from tests.payments.test_institutional_835 import INPATIENT, make_claim, make_institutional_835
from tests.payments.test_institutional_posting import (  # the fixture: payments' group starts at the end
    INPATIENT_LINES,
    payments_reads_from_now,  # noqa: F401
    post_ok,
    submit,
)


async def test_the_patient_is_mailed_the_share_of_an_inpatient_stay(service, settings, producer):
    account, pcn = unique("acct"), unique("N")
    email = f"{account}@mail.example"
    notifications = await make_group_at_end(settings)
    async with (
        running_sink() as sink,
        running_notifications(notifications, sink) as (_, notes),
        service("payments") as (_, client),
    ):
        await put_recipient(notes, account, kind="patient", email=email)
        await submit(producer, pcn=pcn, account=account, claim_type="institutional", lines=INPATIENT_LINES)
        await wait_for_charge(client, account, "12000.00")
        await post_ok(client, make_institutional_835(unique("TRN"), make_claim(INPATIENT, pcn)))

        async def mailed():
            return await sink.messages(to=email)

        (mail,) = await eventually(mailed, timeout=60, what="the patient's mail")
        # CLP04 8000.00 paid by the payer; PR-1 1000.00 + PR-2 700.00 (CLP05) left to the patient.
        assert "$8,000.00" in mail["text"]
        assert "Your share for this claim is $1,700.00" in mail["text"]
