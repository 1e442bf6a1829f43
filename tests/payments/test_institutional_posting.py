"""Issue 20 on real PostgreSQL and Kafka: payments posts institutional 835s. A claim.submitted of
type institutional (lines by revenue code, one without HCPCS) is kept with its type; the
hand-written inpatient 835 of test_institutional_835 (CLP08 11, CLP11 DRG 470, CLP12 weight, MIA,
SVC NU:0120 and HC:80053 with SVC04 0300) posts to the cent, keeps MIA, publishes it on
payment.posted with each line's revenue code and claim line, and moves the patient's share (PR-1
deductible, PR-2 coinsurance) to the patient's account, which the notification rule tells the
patient; the outpatient one keeps MOA; the collections report and insurance A/R split
professional from institutional."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from services.notifications.messages.domain import payment_posted as notification_plan
from services.payments.service import SERVICE
from shared.config import Settings
from shared.events.catalogue import ClaimLineSummary, PaymentPosted
from tests.conftest import start_group_at_end, unique
from tests.payments.helpers import (
    ALL,
    get_account,
    get_ledger,
    kafka_offsets,
    post_835,
    read_events,
    submit_claim,
    wait_for_charge,
)
from tests.payments.test_institutional_835 import (
    INPATIENT,
    OUTPATIENT,
    PROFESSIONAL,
    REVERSAL,
    make_claim,
    make_institutional_835,
)


def line(n: int, code: str | None, rev: str | None, charge: str, day: date, units: int = 1) -> dict[str, Any]:
    """One ClaimLineSummary of claim.submitted."""
    return {
        "line_number": n,
        "code": code,
        "revenue_code": rev,
        "units": D(units),
        "charge": D(charge),
        "date_of_service": day,
    }


# Our inpatient claim: line 1 room and board (no HCPCS), 3 days; line 2 the lab test.
INPATIENT_LINES = [
    line(1, None, "0120", "9000.00", date(2026, 1, 5), units=3),
    line(2, "80053", "0300", "3000.00", date(2026, 1, 6)),
]
OUTPATIENT_LINES = [line(1, "99284", "0450", "800.00", date(2026, 1, 10))]
PROFESSIONAL_LINES = [line(1, "99213", None, "150.00", date(2026, 1, 5))]


@pytest.fixture(scope="module", autouse=True)
def payments_reads_from_now(settings: Settings) -> None:
    """This session's payments consumer group starts at the end of its topics: a new group would
    first read the shared broker's history (an old 25,000-claim 835 on remittance.received)."""
    group = settings.consumer_group_prefix + "payments"
    asyncio.run(start_group_at_end(settings.kafka_bootstrap_servers, group, list(SERVICE.handlers)))


async def submit(
    producer: Any,
    *,
    pcn: str,
    account: str,
    claim_type: str,
    lines: list[dict[str, Any]],
    submitted_at: datetime | None = None,
) -> uuid.UUID:
    """claim.submitted as the claims service publishes an 837I (or 837P) claim, on SBX001."""
    summaries = [ClaimLineSummary(**line) for line in lines]
    return await submit_claim(
        producer,
        pcn=pcn,
        account=account,
        payer="SBX001",
        charge=str(sum((line.charge for line in summaries), D("0.00"))),
        date_of_service=min(line.date_of_service for line in summaries),
        summaries=summaries,
        claim_type=claim_type,
        submitted_at=submitted_at,
    )


async def post_ok(client: Any, text: str) -> dict[str, Any]:
    """Upload an 835 that posts every claim; its remittance's detail."""
    resp = await post_835(client, text)
    assert resp.status_code == 201, resp.text
    (posted,) = resp.json()["sets"]
    detail = await client.get(f"/v1/remittances/{posted['remittance_id']}", headers=ALL)
    assert detail.status_code == 200, detail.text
    return detail.json()


async def test_inpatient_835_posts_keeps_mia_and_moves_the_patient_share(service, producer, servers):
    account, pcn = unique("acct"), unique("I")
    async with service("payments") as (_, client):
        claim_id = await submit(
            producer, pcn=pcn, account=account, claim_type="institutional", lines=INPATIENT_LINES
        )
        await wait_for_charge(client, account, "12000.00")
        start = await kafka_offsets(servers, ("payment.posted",))
        remittance = await post_ok(client, make_institutional_835(unique("TRN"), make_claim(INPATIENT, pcn)))

        # Matched by patient control number (CLP01) as for 837P; posted to the cent.
        (claim,) = remittance["matched"]
        assert claim["claim_id"] == str(claim_id) and remittance["unmatched"] == []
        assert (D(claim["charge"]), D(claim["paid"]), D(claim["patient_responsibility"])) == (
            D("12000.00"), D("8000.00"), D("1700.00"),
        )  # fmt: skip
        # Loop 2100 CLP08/CLP09/CLP11/CLP12 and MIA kept with the posting.
        assert claim["claim_type"] == "institutional"
        assert (claim["facility_type_code"], claim["frequency_code"], claim["drg_code"]) == ("11", "1", "470")
        assert D(claim["drg_weight"]) == D("1.9009")
        mia = claim["inpatient"]
        assert (D(mia["covered_days"]), D(mia["drg_amount"]), D(mia["capital_amount"])) == (
            D(3), D("7600.00"), D("400.00"),
        )  # fmt: skip
        assert mia["remark_codes"] == ["MA01", "MA07"] and claim["outpatient"] is None
        # Loop 2110: revenue codes, and the claim line each answers (REF*6R, else codes + date).
        assert [(x["qualifier"], x["code"], x["revenue_code"], x["line_number"]) for x in claim["lines"]] == [
            ("HC", "80053", "0300", 2),
            ("NU", "0120", "0120", 1),
        ]

        # The account: insurance owes nothing more; PR-1 1000 + PR-2 (200 + 500) moved to the patient.
        view = await get_account(client, account)
        assert (D(view["insurance_pending"]), D(view["patient_due"]), D(view["balance"])) == (
            D("0.00"), D("1700.00"), D("1700.00"),
        )  # fmt: skip
        ledger = (await get_ledger(client, account))["entries"]
        to_patient: dict[str, D] = {}
        for e in ledger:
            if e["entry_type"] == "transfer" and e["bucket"] == "patient":
                to_patient[e["reason_code"]] = to_patient.get(e["reason_code"], D(0)) + D(e["amount"])
        assert to_patient == {"1": D("1000.00"), "2": D("700.00")}
        assert sorted(e["description"] for e in ledger if e["entry_type"] == "charge") == [
            "Charge 80053 (rev. 0300)",
            "Charge rev. 0120",
        ]

        (event,) = await read_events(servers, start, "payment.posted", str(claim_id), 1)  # keyed by claim
        posted = PaymentPosted.model_validate(event)
        assert (posted.claim_type, posted.drg_code, posted.drg_weight) == (
            "institutional",
            "470",
            D("1.9009"),
        )
        assert posted.inpatient is not None and posted.outpatient is None
        mia_posted = posted.inpatient
        assert (mia_posted.covered_days, mia_posted.drg_amount, mia_posted.capital_amount) == (
            D(3), D("7600.00"), D("400.00"),
        )  # fmt: skip
        assert [(x.code, x.revenue_code, x.line_number, x.paid) for x in posted.lines] == [
            ("80053", "0300", 2, D("2000.00")),
            ("0120", "0120", 1, D("6000.00")),
        ]
        # The existing notification path: insurance processed, with the patient's share, to the patient.
        plan = notification_plan(posted)
        assert plan is not None and plan.patient_id == account and plan.template == "insurance_processed"
        assert plan.context == {"amount": D("8000.00"), "patient_responsibility": D("1700.00")}


async def test_outpatient_835_keeps_moa(service, producer, servers):
    account, pcn = unique("acct"), unique("O")
    async with service("payments") as (_, client):
        claim_id = await submit(
            producer, pcn=pcn, account=account, claim_type="institutional", lines=OUTPATIENT_LINES
        )
        await wait_for_charge(client, account, "800.00")
        start = await kafka_offsets(servers, ("payment.posted",))
        remittance = await post_ok(client, make_institutional_835(unique("TRN"), make_claim(OUTPATIENT, pcn)))
        (claim,) = remittance["matched"]
        moa = claim["outpatient"]
        assert (D(moa["reimbursement_rate"]), D(moa["hcpcs_payable_amount"]), moa["remark_codes"]) == (
            D(80), D("450.00"), ["MA01", "MA02"],
        )  # fmt: skip
        assert (
            claim["inpatient"] is None and claim["drg_code"] is None and claim["facility_type_code"] == "13"
        )
        view = await get_account(client, account)
        assert (D(view["insurance_pending"]), D(view["patient_due"])) == (
            D("0.00"),
            D("100.00"),
        )  # PR-3 copay
        (event,) = await read_events(servers, start, "payment.posted", str(claim_id), 1)  # keyed by claim
        posted = PaymentPosted.model_validate(event)
        assert posted.claim_type == "institutional" and posted.inpatient is None
        assert posted.outpatient is not None
        assert (posted.outpatient.reimbursement_rate, posted.outpatient.hcpcs_payable_amount) == (
            D(80),
            D("450.00"),
        )
        assert posted.outpatient.remark_codes == ["MA01", "MA02"]
        assert [(x.code, x.revenue_code, x.line_number) for x in posted.lines] == [("99284", "0450", 1)]


async def test_an_inpatient_835_before_its_claim_is_parked_whole_and_posted_when_the_claim_comes(
    service, producer, servers
):
    """The 835 comes first: the CLP waits in the unmatched queue with its MIA and lines (JSON), and
    the claim.submitted of the stay posts it through the same path (lines placed, MIA kept)."""
    account, pcn = unique("acct"), unique("L")
    async with service("payments") as (_, client):
        remittance = await post_ok(client, make_institutional_835(unique("TRN"), make_claim(INPATIENT, pcn)))
        assert remittance["matched"] == [] and len(remittance["unmatched"]) == 1
        start = await kafka_offsets(servers, ("payment.posted",))
        claim_id = await submit(
            producer, pcn=pcn, account=account, claim_type="institutional", lines=INPATIENT_LINES
        )
        (event,) = await read_events(servers, start, "payment.posted", str(claim_id), 1)
        posted = PaymentPosted.model_validate(event)
        assert posted.inpatient is not None and posted.inpatient.drg_amount == D("7600.00")
        assert [(x.revenue_code, x.line_number) for x in posted.lines] == [("0300", 2), ("0120", 1)]
        view = await get_account(client, account)
        assert (D(view["insurance_pending"]), D(view["patient_due"])) == (D("0.00"), D("1700.00"))
        again = (await client.get(f"/v1/remittances/{remittance['id']}", headers=ALL)).json()
        (claim,) = again["matched"]
        assert claim["inpatient"]["remark_codes"] == ["MA01", "MA07"] and claim["drg_code"] == "470"


async def test_a_reversed_inpatient_payment_keeps_its_claim_type_and_puts_the_money_back(
    service, producer, servers
):
    """CLP02 22 negates the original posting; its payment.posted stays institutional, and the
    negated MIA (covered days -3) is kept on the posting but is not a prior payer's adjudication
    for the event. The corrected payment in the same file posts again."""
    account, pcn = unique("acct"), unique("R")
    async with service("payments") as (_, client):
        claim_id = await submit(
            producer, pcn=pcn, account=account, claim_type="institutional", lines=INPATIENT_LINES
        )
        await wait_for_charge(client, account, "12000.00")
        await post_ok(client, make_institutional_835(unique("TRN"), make_claim(INPATIENT, pcn)))
        start = await kafka_offsets(servers, ("payment.posted",))
        claims = [make_claim(REVERSAL, pcn), make_claim(INPATIENT, pcn, "PCCN9")]
        remittance = await post_ok(client, make_institutional_835(unique("TRN"), *claims))
        reversal, corrected = remittance["matched"]
        negated_mia = reversal["inpatient"]
        assert (reversal["status_code"], reversal["claim_type"], D(negated_mia["covered_days"])) == (
            "22", "institutional", D(-3),
        )  # fmt: skip
        assert corrected["claim_type"] == "institutional" and D(corrected["paid"]) == D("8000.00")
        events = await read_events(servers, start, "payment.posted", str(claim_id), 2)
        taken_back, paid_again = (PaymentPosted.model_validate(e) for e in events)
        assert (taken_back.claim_status_code, taken_back.claim_type, taken_back.amount) == (
            "22", "institutional", D("-8000.00"),
        )  # fmt: skip
        assert taken_back.inpatient is None and taken_back.drg_code == "470"
        assert paid_again.inpatient is not None and paid_again.inpatient.covered_days == D(3)
        view = await get_account(client, account)
        assert (D(view["insurance_pending"]), D(view["patient_due"])) == (D("0.00"), D("1700.00"))


def money(figures: dict[str, Any], *names: str) -> tuple[D, ...]:
    return tuple(D(str(figures[n])) for n in names)


async def test_collections_report_and_insurance_ar_split_professional_and_institutional(service, producer):
    """Charges dated on a day of their own (claim.submitted's submitted_at), so that day's report
    holds exactly these three claims; the payments posted today are compared before and after."""
    # After 2000-01-01, which test_denied_ar's insurance A/R expects empty; before 2020.
    day = date(2001, 1, 1) + timedelta(days=random.randrange(6900))
    at = datetime.combine(day, time(12), tzinfo=UTC)
    accounts = {kind: unique("acct") for kind in ("inpatient", "outpatient", "professional")}
    pcns = {kind: unique(kind[0].upper()) for kind in accounts}
    today = {"date_from": str(date.today()), "date_to": str(date.today())}
    async with service("payments") as (_, client):
        for kind, claim_type, lines in (
            ("inpatient", "institutional", INPATIENT_LINES),
            ("outpatient", "institutional", OUTPATIENT_LINES),
            ("professional", "professional", PROFESSIONAL_LINES),
        ):
            await submit(
                producer,
                pcn=pcns[kind],
                account=accounts[kind],
                claim_type=claim_type,
                lines=lines,
                submitted_at=at,
            )
        for kind, charge in (("inpatient", "12000.00"), ("outpatient", "800.00"), ("professional", "150.00")):
            await wait_for_charge(client, accounts[kind], charge)

        on_day = (
            await client.get(
                "/v1/reports/collections", params={"date_from": str(day), "date_to": str(day)}, headers=ALL
            )
        ).json()
        split = on_day["by_claim_type"]
        assert money(split["institutional"], "charges") == (D("12800.00"),)
        assert money(split["professional"], "charges") == (D("150.00"),)
        assert D(on_day["charges"]) == D("12950.00")

        before = (await client.get("/v1/reports/collections", params=today, headers=ALL)).json()[
            "by_claim_type"
        ]
        claims = [
            make_claim(INPATIENT, pcns["inpatient"]),
            make_claim(OUTPATIENT, pcns["outpatient"], "PCCN2"),
        ]
        claims.append(make_claim(PROFESSIONAL, pcns["professional"], "PCCN3"))
        remittance = await post_ok(client, make_institutional_835(unique("TRN"), *claims))
        assert [c["claim_type"] for c in remittance["matched"]] == [
            "institutional",
            "institutional",
            "professional",
        ]
        after = (await client.get("/v1/reports/collections", params=today, headers=ALL)).json()[
            "by_claim_type"
        ]
        fields = ("insurance_payments", "contractual_adjustments", "transferred_to_patient")
        delta = {
            t: tuple(a - b for a, b in zip(money(after[t], *fields), money(before[t], *fields), strict=True))
            for t in after
        }
        # Inpatient 8000 paid, CO-45 2300, PR 1700; outpatient 500, 200, 100; professional 100, 20, 30.
        assert delta["institutional"] == (D("8500.00"), D("2500.00"), D("1800.00"))
        assert delta["professional"] == (D("100.00"), D("20.00"), D("30.00"))

        for kind, claim_type in (("inpatient", "institutional"), ("professional", "professional")):
            resp = await client.get(
                "/v1/reports/insurance-ar",
                params={"account_id": accounts[kind], "as_of": str(day)},
                headers=ALL,
            )
            ar = resp.json()["by_claim_type"]
            assert ar[claim_type]["claims"] == 1 and sum(b["claims"] for b in ar.values()) == 1
