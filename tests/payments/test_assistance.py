"""Financial assistance and financing as payments carries them out (issue 19, "Financial
assistance").

`financial_assistance.approved` (decided by one person, approved by another) posts the policy's
discount of what the patient owes at that moment as ledger adjustments naming the application:
Decimal, to the cent, half up; once per application however often it is told; nothing owed,
nothing written. The balance stays the ledger's sum. `financing.referred` records the financed
amount and the partner on the account, which leaves the collections path until the front office
releases its financing hold."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shared.events.catalogue import AccountHoldReleased, FinancialAssistanceApproved, FinancingReferred
from tests.conftest import end_offsets, read_from, unique
from tests.payments.helpers import (
    get_account,
    get_dunning,
    get_ledger,
    post_charge,
    post_cycle,
    post_payment,
    post_statement_run,
    publish_frontoffice,
    wait_handled,
)


def make_approval(
    account: str,
    percent: str,
    *,
    tier: str = "sliding-50",
    application_id=None,
    approved_by: str = "supervisor-2",
) -> FinancialAssistanceApproved:
    """An approval of a household at 150 % of the 2026 guidelines."""
    return FinancialAssistanceApproved(
        application_id=application_id or uuid.uuid4(),
        account_id=account,
        patient_id=account,
        tier=tier,
        discount_percent=Decimal(percent),
        poverty_percent=Decimal("150.00"),
        guidelines_year=2026,
        decided_by="counselor-1",
        approved_by=approved_by,
        decided_at=datetime.now(UTC),
    )


def ledger_sum(ledger: dict) -> Decimal:
    return sum((Decimal(e["amount"]) for e in ledger["entries"]), Decimal("0.00"))


async def test_financial_assistance_posts_the_discount_once_half_up_and_the_balance_is_the_ledgers(
    service, producer, admin
):
    account = unique("acct")
    async with service("payments") as (_, client):
        # Two visits owed: 60.00 and 40.01; a 50 % tier is 50.005, half up 50.01 (never 50.00).
        assert (await post_charge(client, account, "60.00", "2026-01-02")).status_code == 201
        assert (await post_charge(client, account, "40.01", "2026-01-09")).status_code == 201
        approval = make_approval(account, "50")
        # Told twice (the front office re-published it: two events, one application).
        twice = [await publish_frontoffice(producer, approval), await publish_frontoffice(producer, approval)]
        await wait_handled(admin, *twice)

        ledger = await get_ledger(client, account)
        rows = [e for e in ledger["entries"] if e["application_id"] == str(approval.application_id)]
        assert [(e["entry_type"], e["amount"]) for e in rows] == [("adjustment", "-50.01")]
        assert rows[0]["description"] == "Financial assistance (sliding-50)"
        view = await get_account(client, account)
        assert view["patient_due"] == "50.00" and Decimal(view["balance"]) == ledger_sum(ledger)
        (posted,) = view["financial_assistance"]
        assert (posted["base"], posted["amount"], posted["discount_percent"]) == ("100.01", "50.01", "50.00")
        # The oldest visit took it: 9.99 left on it, the second untouched.
        assert [i["patient_due"] for i in view["items"]] == ["9.99", "40.01"]


async def test_full_assistance_clears_what_is_owed_without_a_payments_approval(service, producer, admin):
    account, nothing_owed = unique("acct"), unique("acct")
    async with service("payments") as (_, client):
        # 250.00 owed, 30.00 paid: 220.00, over the 100.00 approval threshold of a manual write-off.
        assert (await post_charge(client, account, "250.00", "2026-01-02")).status_code == 201
        assert (await post_payment(client, account, "30.00")).status_code == 201
        full = make_approval(account, "100", tier="full")
        # An account that owes nothing: the application is recorded, the ledger untouched.
        assert (await post_charge(client, nothing_owed, "20.00", "2026-01-02")).status_code == 201
        assert (await post_payment(client, nothing_owed, "20.00")).status_code == 201
        zero = make_approval(nothing_owed, "100", tier="full")
        await wait_handled(
            admin, await publish_frontoffice(producer, full), await publish_frontoffice(producer, zero)
        )

        view = await get_account(client, account)
        assert (view["patient_due"], view["balance"]) == ("0.00", "0.00")
        ledger = await get_ledger(client, account)
        assert ledger_sum(ledger) == Decimal("0.00") == Decimal(ledger["balance"])
        (row,) = [e for e in ledger["entries"] if e["application_id"]]
        assert row["amount"] == "-220.00"
        asked = await admin.fetchval("SELECT count(*) FROM payments.approvals WHERE subject = $1", account)
        assert asked == 0

        entries = (await get_ledger(client, nothing_owed))["entries"]
        assert [e["entry_type"] for e in entries] == ["charge", "payment"]
        (recorded,) = (await get_account(client, nothing_owed))["financial_assistance"]
        assert recorded["amount"] == "0.00"


async def test_one_person_deciding_and_approving_is_dead_lettered_not_posted(
    service, producer, servers, admin
):
    account = unique("acct")
    start = await end_offsets(servers.kafka_bootstrap, "financial_assistance.approved.dlq")
    async with service("payments") as (_, client):
        assert (await post_charge(client, account, "80.00", "2026-01-02")).status_code == 201
        alone = make_approval(account, "100", approved_by="counselor-1")
        await publish_frontoffice(producer, alone)
        records = await read_from(
            servers.kafka_bootstrap,
            "financial_assistance.approved.dlq",
            start,
            until=lambda rs: any(r.key == account.encode() for r in rs),
            timeout=120,
        )
        (parked,) = [r for r in records if r.key == account.encode()]
        headers = dict(parked.headers)
        assert headers["dlq_reason"] == b"rule" and b"two people" in headers["dlq_error"]
        assert json.loads(parked.value)["application_id"] == str(alone.application_id)
        assert (await get_account(client, account))["patient_due"] == "80.00"


async def test_a_financed_account_records_the_partner_and_leaves_the_collections_path(
    service, producer, admin
):
    account = unique("acct")
    first = date(2026, 3, 2)
    async with service("payments") as (_, client):
        assert (await post_charge(client, account, "900.00", "2026-02-20")).status_code == 201
        referral = FinancingReferred(
            referral_id=uuid.uuid4(),
            account_id=account,
            patient_id=account,
            partner_id="carecredit-sbx",
            amount=Decimal("900.00"),
            referred_by="counselor-1",
            referred_at=datetime.now(UTC),
        )
        told = [await publish_frontoffice(producer, referral), await publish_frontoffice(producer, referral)]
        await wait_handled(admin, *told)

        view = await get_account(client, account)
        (financing,) = view["financing"]
        assert (financing["partner_id"], financing["amount"], financing["active"]) == (
            "carecredit-sbx",
            "900.00",
            True,
        )
        assert [(h["reason"], h["source_id"], h["holds_statements"]) for h in view["holds"]] == [
            ("financing", str(referral.referral_id), False)
        ]

        # Statements go on; the final notice and the referral wait while it is financed.
        assert len((await post_statement_run(client, account, str(first))).json()["issued"]) == 1
        for days in (30, 60, 90, 120, 150):
            await post_cycle(client, str(first + timedelta(days=days)))
        dunning = await get_dunning(client, account)
        assert dunning["status"] == "paused" and [s["kind"] for s in dunning["steps"]][-1] == "statement"

        # The front office ends the financing: the account continues its cycle.
        release = AccountHoldReleased(
            hold_id=uuid.uuid4(),
            account_id=account,
            reason="financing",
            source_id=referral.referral_id,
            outcome="declined",
            released_at=datetime.now(UTC),
        )
        await wait_handled(admin, await publish_frontoffice(producer, release))
        view = await get_account(client, account)
        assert view["holds"] == [] and view["financing"][0]["active"] is False
        cycle = await post_cycle(client, str(first + timedelta(days=151)))
        assert account in cycle["final_notices"]
