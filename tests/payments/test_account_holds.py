"""The front office's holds on an account (issue 19, "Dispute").

A dispute ticket places `account_hold.placed` (reason dispute): payments opens a dispute through
its one dispute command, naming the ticket, so the account takes no statement and no step toward
the agency (FDCPA) until the ticket is resolved and `account_hold.released` resolves it; the next
cycle refers it. The same hold told twice opens one dispute; a release of nothing is a no-op.
An assistance application's hold keeps the account from the final notice and the referral only:
its statements go on."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta

from shared.events.catalogue import AccountHoldPlaced, AccountHoldReleased
from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    get_account,
    get_dunning,
    post_charge,
    post_cycle,
    post_statement_run,
    publish_frontoffice,
    wait_handled,
)

FIRST = date(2026, 3, 2)


def make_hold(
    account: str, reason: str, source: uuid.UUID, *, statements: bool, hold_id=None
) -> AccountHoldPlaced:
    return AccountHoldPlaced(
        hold_id=hold_id or uuid.uuid4(),
        account_id=account,
        patient_id=account,
        reason=reason,
        source_id=source,
        holds_statements=statements,
        holds_collections=True,
        placed_at=datetime.now(UTC),
    )


def make_release(hold: AccountHoldPlaced, outcome: str = "adjusted") -> AccountHoldReleased:
    return AccountHoldReleased(
        hold_id=hold.hold_id,
        account_id=hold.account_id,
        reason=hold.reason,
        source_id=hold.source_id,
        outcome=outcome,
        released_at=datetime.now(UTC),
    )


class Kept(logging.Handler):
    """The records a logger wrote while attached (the service configures logging itself)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def get_disputes(client, account: str) -> list[dict]:
    resp = await client.get(f"/v1/accounts/{account}/disputes", headers=ALL)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_dispute_keeps_a_past_due_account_out_of_the_collections_run_until_resolved(
    service, producer, admin
):
    account, quiet = unique("acct"), unique("acct")
    ticket = uuid.uuid4()
    async with service("payments") as (_, client):
        # Past due: four statements unpaid, then the final notice (collections 30 days later).
        assert (await post_charge(client, account, "120.00", "2026-02-20")).status_code == 201
        assert (await post_statement_run(client, account, str(FIRST))).status_code == 200
        for days in (30, 60, 90, 120):
            await post_cycle(client, str(FIRST + timedelta(days=days)))
        assert [s["kind"] for s in (await get_dunning(client, account))["steps"]][-1] == "final_notice"

        # The patient calls: a dispute ticket holds the account. The same hold told twice, and
        # a second hold of the same ticket, open one dispute.
        hold = make_hold(account, "dispute", ticket, statements=True)
        again = make_hold(account, "dispute", ticket, statements=True)
        placed = [
            await publish_frontoffice(producer, hold),
            await publish_frontoffice(producer, hold),
            await publish_frontoffice(producer, again),
        ]
        await wait_handled(admin, *placed)
        (dispute,) = await get_disputes(client, account)
        assert dispute["source_id"] == str(ticket) and dispute["resolved_at"] is None
        view = await get_account(client, account)
        assert [(h["reason"], h["holds_statements"], h["holds_collections"]) for h in view["holds"]] == [
            ("dispute", True, True)
        ]

        # The collections run comes and goes: not referred, and no statement either.
        day = FIRST + timedelta(days=150)
        cycle = await post_cycle(client, str(day))
        assert account not in cycle["sent_to_collections"] and account not in cycle["accounts"]
        dunning = await get_dunning(client, account)
        assert dunning["status"] == "paused" and dunning["steps"][-1]["kind"] == "final_notice"

        # A release of a hold nobody placed changes nothing and logs no patient data.
        logged = Kept()
        logger = logging.getLogger("services.payments.account_holds.usecases")
        logger.addHandler(logged)
        level = logger.level
        logger.setLevel(logging.INFO)  # whatever the run's root level is
        try:
            stray = make_release(make_hold(quiet, "dispute", uuid.uuid4(), statements=True))
            stray_id = await publish_frontoffice(producer, stray)
            await wait_handled(admin, stray_id)
        finally:
            logger.removeHandler(logged)
            logger.setLevel(level)
        (noop,) = [r for r in logged.records if "without an open hold" in r.getMessage()]
        assert noop.hold_id == str(stray.hold_id) and quiet not in str(noop.__dict__)
        assert await get_disputes(client, quiet) == []

        # The ticket is resolved: the hold ends, its dispute is resolved, the next run refers.
        await wait_handled(admin, await publish_frontoffice(producer, make_release(hold, "explained")))
        (resolved,) = await get_disputes(client, account)
        assert resolved["resolution"] == "explained" and resolved["resolved_by"] == "frontoffice"
        assert (await get_account(client, account))["holds"] == []
        cycle = await post_cycle(client, str(day + timedelta(days=1)))
        assert account in cycle["sent_to_collections"]
        assert (await get_dunning(client, account))["status"] == "referred"


async def test_a_dispute_hold_keeps_statements_away_too(service, producer, admin):
    account = unique("acct")
    async with service("payments") as (_, client):
        assert (await post_charge(client, account, "60.00", "2026-02-20")).status_code == 201
        hold = make_hold(account, "dispute", uuid.uuid4(), statements=False)  # a dispute holds both anyway
        await wait_handled(admin, await publish_frontoffice(producer, hold))
        run = await post_statement_run(client, account, str(FIRST))
        assert run.status_code == 200 and run.json()["issued"] == []

        await wait_handled(admin, await publish_frontoffice(producer, make_release(hold)))
        run = await post_statement_run(client, account, str(FIRST + timedelta(days=1)))
        assert len(run.json()["issued"]) == 1


async def test_an_assistance_application_holds_collections_only_statements_go_on(service, producer, admin):
    account = unique("acct")
    async with service("payments") as (_, client):
        assert (await post_charge(client, account, "300.00", "2026-02-20")).status_code == 201
        application = make_hold(account, "financial_assistance", uuid.uuid4(), statements=False)
        await wait_handled(admin, await publish_frontoffice(producer, application))

        # Statements go on: the run starts the sequence and the cycles take their statements ...
        run = await post_statement_run(client, account, str(FIRST))
        assert len(run.json()["issued"]) == 1
        for days in (30, 60, 90, 120, 150):
            await post_cycle(client, str(FIRST + timedelta(days=days)))
        # ... but the final notice (and so the referral) waits for the application.
        dunning = await get_dunning(client, account)
        assert [s["kind"] for s in dunning["steps"]] == ["statement"] * 4
        assert dunning["status"] == "paused" and dunning["next_step"]["kind"] == "final_notice"

        await wait_handled(admin, await publish_frontoffice(producer, make_release(application, "approved")))
        cycle = await post_cycle(client, str(FIRST + timedelta(days=151)))
        assert account in cycle["final_notices"]
