"""End to end with the payer sandbox: claim.submitted goes through the gateway as an 837 file
to the sandbox's mailbox; the sandbox adjudicates and writes an 835 file, which the gateway
publishes as remittance.received; payments posts it. Expected amounts are read from the
sandbox's own 835 with x12sdk (an independent parser), not hard-coded."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from x12sdk.io import X12ModelReader

from deploy.payer_sandbox.testing import SampleLine, sample_837
from shared.events import new_event
from shared.events.catalogue import ClaimLineSummary, ClaimSubmitted
from tests.conftest import encode_signed, end_offsets, eventually, read_from, running_clearinghouse, unique
from tests.payments.helpers import ALL, get_account

D = Decimal


def clp_by_x12sdk(text: str, pcn: str):
    with X12ModelReader(text) as reader:
        for model in reader.models():
            for header in model.loop_2000:
                for claim in header.loop_2100:
                    if claim.clp_segment.patient_control_number == pcn:
                        return claim.clp_segment
    raise AssertionError("claim not in the sandbox's 835")


async def test_sandbox_remittance_is_posted_to_the_claim(service, producer, servers, settings):
    prefix = unique("S")[:9].replace("-", "")
    pcn = f"{prefix}01"
    account, claim_id = unique("acct"), uuid.uuid4()
    start = await end_offsets(servers.kafka_bootstrap, "payment.posted")
    lines = [SampleLine("99213", "150.00"), SampleLine("85025", "30.00")]
    async with (
        running_clearinghouse(settings) as sandbox,
        service("payments") as (_, client),
    ):
        event = new_event(
            ClaimSubmitted(
                claim_id=claim_id,
                patient_control_number=pcn,
                patient_id=account,
                account_id=account,
                payer_id="SBX001",
                total_charge=D("180.00"),
                x12_837=sample_837(pcn, "SBX10001", lines, date_of_service="20261120"),
                submitted_at=datetime.now(UTC),
                date_of_service=date(2026, 11, 20),
                lines=[
                    ClaimLineSummary(
                        line_number=n,
                        code=line.code,
                        charge=D(line.charge),
                        date_of_service=date(2026, 11, 20),
                    )
                    for n, line in enumerate(lines, start=1)
                ],
            ),
            source="/tests/claims",
        )
        topic, key, value, headers = encode_signed(event)
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)

        records = await read_from(
            servers.kafka_bootstrap,
            "payment.posted",
            start,
            until=lambda rs: any(r.key == str(claim_id).encode() for r in rs),
            timeout=60,
        )
        posted = json.loads(next(r.value for r in records if r.key == str(claim_id).encode()))
        (remittance,) = [r for r in sandbox.pipeline.remittances if pcn in r.pcns]
        clp = clp_by_x12sdk(remittance.x12_835, pcn)
        assert posted["trace_number"] == remittance.trace_number and posted["payer_id"] == "SBX001"
        assert D(posted["amount"]) == clp.claim_payment_amount
        assert D(posted["charge"]) == clp.total_claim_charge_amount == D("180.00")
        assert D(posted["patient_responsibility"]) == (clp.patient_responsibility_amount or 0)
        assert posted["payer_claim_control_number"] == clp.payer_claim_control_number

        async def settled():
            view = await get_account(client, account)
            return view if D(view["insurance_pending"]) == 0 else None

        view = await eventually(settled, timeout=30)
        assert D(view["patient_due"]) == (clp.patient_responsibility_amount or 0)
        listed = (
            await client.get("/v1/remittances", params={"trace_number": remittance.trace_number}, headers=ALL)
        ).json()["items"]
        summary = (await client.get(f"/v1/remittances/{listed[0]['id']}", headers=ALL)).json()
        totals = summary["totals"]
        assert D(totals["posted"]) + D(totals["unmatched"]) == D(totals["deposit"])
