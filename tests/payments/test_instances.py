"""Two payments instances at once (issue 16, item 4): the 835 and its claim's `claim.submitted`
copy handled on two replicas, each transaction starting before the other commits.

With one instance the two topics were handled one after the other, so the late match
(`claimcopies` posts the parked claims waiting for a claim when it arrives) always saw the
835's parked claim, or the 835 saw the claim. With two, the chaos run stranded 31 paid claims
as "no claim with this patient control number": each transaction read before the other
committed. These tests force that interleaving deterministically with PostgreSQL itself:
replica A handles its event and, before its transaction commits, waits until replica B has
either finished (committed) or is blocked by a lock A holds (`pg_blocking_pids`); only then
does A commit. No sleeps decide the order.

Driven through the real consumer (`EventConsumer.process`: decode, inbox, the service's own
handlers) on two database pools, as two replicas of one consumer group would run them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.payments.claimcopies.usecases import rematch_stranded
from services.payments.holds.usecases import map_payer
from services.payments.intake.usecases import Incoming, keep, process
from services.payments.service import SERVICE
from shared.config import service_database_url
from shared.consumer import records_of
from shared.db import Database
from shared.events import Event, new_event
from shared.events.catalogue import ClaimLineSummary, ClaimSubmitted, RemittanceReceived
from tests.conftest import HeldOpen, encode_signed, unique
from tests.payments.helpers import make_835, make_clp, make_consumer

D = Decimal
DOS = date(2026, 1, 5)


def make_claim_event(
    pcn: str, account: str, charge: str, *, payer: str = "SBX001"
) -> tuple[uuid.UUID, Event]:
    claim_id = uuid.uuid4()
    claim = ClaimSubmitted(
        claim_id=claim_id,
        patient_control_number=pcn,
        patient_id=account,
        account_id=account,
        payer_id=payer,
        total_charge=D(charge),
        x12_837="ISA*...",
        submitted_at=datetime.now(UTC),
        date_of_service=DOS,
        lines=[ClaimLineSummary(line_number=1, code="99213", charge=D(charge), date_of_service=DOS)],
    )
    return claim_id, new_event(claim, source="/services/claims")


def make_remittance_event(trace: str, clps: list[list[list[str]]]) -> Event:
    remittance = RemittanceReceived(
        trace_number=trace, payer_id="SBX001", x12_835=make_835(trace, clps), received_at=datetime.now(UTC)
    )
    return new_event(remittance, source="/partners/payer")


async def race(
    settings: Any, admin: Any, held_topic: str, events: dict[str, Event]
) -> tuple[HeldOpen, list[Any]]:
    """Replica A handles `events[held_topic]` and holds its transaction open; replica B then
    handles the other event. Returns the interleaving and both fake dead-letter topics."""
    other_topic = next(t for t in events if t != held_topic)
    group = f"test-instances-{uuid.uuid4().hex[:8]}"  # one consumer group, two replicas
    held = HeldOpen(admin)
    dbs = [Database(service_database_url("payments", settings), "payments", pool_size=2) for _ in range(2)]
    try:
        handlers_a = {**SERVICE.handlers, held_topic: held.around(SERVICE.handlers[held_topic])}  # type: ignore[arg-type]
        replica_a, dlq_a = make_consumer(dbs[0], handlers_a, group_id=group)
        replica_b, dlq_b = make_consumer(dbs[1], dict(SERVICE.handlers), group_id=group)
        await held.run(
            replica_a.process(records_of([events[held_topic]], encoder=encode_signed)),
            lambda: replica_b.process(records_of([events[other_topic]], partition=1, encoder=encode_signed)),
        )
    finally:
        for db in dbs:
            await db.dispose()
    return held, dlq_a.parked + dlq_b.parked


@pytest.mark.parametrize("held_topic", ["claim.submitted", "remittance.received"])
async def test_two_payments_instances_racing_on_one_claim_post_it_once(settings, admin, held_topic):
    pcn, account, trace = unique("R")[:17], unique("acct-race"), unique("TRN-RACE")
    claim_id, claim_event = make_claim_event(pcn, account, "100.00")
    remittance_event = make_remittance_event(
        trace, [make_clp(pcn, "1", "100.00", "80.00", "20.00", [("PR", "1", "20.00")], pccn="ICN-RACE")]
    )
    events = {"claim.submitted": claim_event, "remittance.received": remittance_event}

    held, parked = await race(settings, admin, held_topic, events)

    assert parked == []
    postings = await admin.fetch(
        "SELECT claim_id, matched_by FROM payments.claim_postings WHERE patient_control_number = $1", pcn
    )
    still_open = await admin.fetchval(
        "SELECT count(*) FROM payments.unmatched_claims WHERE patient_control_number = $1 "
        "AND resolved_at IS NULL",
        pcn,
    )
    assert still_open == 0, "the 835's claim was stranded in the unmatched queue"
    assert [p["claim_id"] for p in postings] == [claim_id]
    published = await admin.fetchval(
        "SELECT count(*) FROM payments.outbox WHERE topic = 'payment.posted' AND event_key = $1",
        str(claim_id),
    )
    assert published == 1
    balances = await admin.fetchrow(
        "SELECT sum(amount) FILTER (WHERE bucket = 'insurance') AS ins, "
        "sum(amount) FILTER (WHERE bucket = 'patient') AS pat FROM payments.ledger_entries "
        "WHERE account_id = $1",
        account,
    )
    assert (balances["ins"], balances["pat"]) == (D("0.00"), D("20.00"))
    # The fix serialises the two: replica B waited on replica A's lock, not on a timer.
    assert held.blocked_other


async def test_a_claim_stranded_before_the_fix_is_posted_once_by_two_sweeping_replicas(settings, admin):
    """A parked 835 claim whose claim copy was kept without seeing it (what the race left in
    the data before the lock: the copy row is written here as that code wrote it) is posted by
    the late-match sweep, once, although two replicas sweep at the same moment and again."""
    pcn, account, trace = unique("S")[:17], unique("acct-sweep"), unique("TRN-SWEEP")
    claim_id, claim_event = make_claim_event(pcn, account, "100.00")
    remittance_event = make_remittance_event(
        trace, [make_clp(pcn, "1", "100.00", "80.00", "20.00", [("PR", "1", "20.00")], pccn="ICN-SWEEP")]
    )
    dbs = [Database(service_database_url("payments", settings), "payments", pool_size=2) for _ in range(2)]
    try:
        replica, parked = make_consumer(dbs[0], dict(SERVICE.handlers))
        await replica.process(records_of([remittance_event], encoder=encode_signed))
        claim = claim_event.data
        assert isinstance(claim, ClaimSubmitted)
        await admin.execute(
            "INSERT INTO payments.claim_copies (claim_id, patient_control_number, patient_id, account_id, "
            "payer_id, coverage_order, frequency_code, total_charge, date_of_service, submitted_at) "
            "VALUES ($1, $2, $3, $3, 'SBX001', 'primary', '1', 100.00, $4, $5)",
            claim_id,
            pcn,
            account,
            DOS,
            claim.submitted_at,
        )
        first = await asyncio.gather(*(rematch_stranded(db.session) for db in dbs))
        again = await asyncio.gather(*(rematch_stranded(db.session) for db in dbs))
    finally:
        for db in dbs:
            await db.dispose()
    assert parked.parked == []
    assert sum(first) >= 1 and sum(again) == 0
    postings = await admin.fetch(
        "SELECT claim_id, matched_by FROM payments.claim_postings WHERE patient_control_number = $1", pcn
    )
    assert [(p["claim_id"], p["matched_by"]) for p in postings] == [(claim_id, "late")]
    resolved = await admin.fetchrow(
        "SELECT resolved_by, resolved_posting_id FROM payments.unmatched_claims "
        "WHERE patient_control_number = $1",
        pcn,
    )
    assert resolved["resolved_by"] == "system:late-match-sweep"
    assert resolved["resolved_posting_id"] is not None
    published = await admin.fetchval(
        "SELECT count(*) FROM payments.outbox WHERE topic = 'payment.posted' AND event_key = $1",
        str(claim_id),
    )
    assert published == 1


async def test_an_835_parked_for_its_payer_while_another_replica_maps_the_payer_posts(settings, admin):
    """An upload whose payer is unknown parks its set as waiting for a payer; staff map that
    payer on another replica meanwhile. The mapping releases the sets waiting for it, so it
    must see this one (or the upload must see the payer), whatever the interleaving."""
    payer, pcn, account = unique("RACEPAYER")[:24], unique("P")[:17], unique("acct-payer")
    n104, ref = unique("N")[:14], unique("R")[:14]
    claim_id, claim_event = make_claim_event(pcn, account, "120.00", payer=payer)
    text_835 = make_835(
        unique("TRN"),
        [make_clp(pcn, "1", "120", "100", "20", [("PR", "3", "20")])],
        payer_name="NEW HEALTH PLAN OF SOMEWHERE",
        payer_n104=n104,
        payer_ref=ref,
        trace_originator=unique("9")[:10],
    )
    incoming = Incoming(text_835, "http", "test-user")
    held = HeldOpen(admin)
    dbs = [Database(service_database_url("payments", settings), "payments", pool_size=2) for _ in range(2)]

    async def upload() -> None:  # what `receipts.receive` does, held open before its commit
        async with dbs[0].session() as session, session.begin():
            await keep(session, [incoming])
        async with dbs[0].session() as session, session.begin():
            (result,) = await process(session, [incoming])
            assert result.sets[0].outcome == "payer_needed"
            await held.hold(session)

    async def map_it() -> Any:
        async with dbs[1].session() as session:
            return await map_payer(session, payer, "New Health Plan", [ref], "test-user")

    try:
        replica, _ = make_consumer(dbs[1], dict(SERVICE.handlers))
        await replica.process(records_of([claim_event], encoder=encode_signed))
        await held.run(upload(), map_it)
    finally:
        for db in dbs:
            await db.dispose()
    outcome = await admin.fetchval(
        "SELECT outcome FROM payments.received_sets WHERE file_id = $1", incoming.file_id
    )
    assert outcome == "posted", "the set waits for a payer that is registered"
    postings = await admin.fetch(
        "SELECT claim_id FROM payments.claim_postings WHERE patient_control_number = $1", pcn
    )
    assert [p["claim_id"] for p in postings] == [claim_id]
    assert held.blocked_other
