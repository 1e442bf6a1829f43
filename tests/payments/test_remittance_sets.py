"""The gateway sends each transaction set of an 835 file as its own `remittance.received`
(the set in the file's ISA/GS, `services.gateway.remittances.x12.enveloped`). Payments decides
each set on its own and knows it by payer and trace number, so a file's sets arriving as two
events post exactly as the file did as one event: same remittances, same money, and the
whole file arriving afterwards is a duplicate of both, set by set (same content digest)."""

from __future__ import annotations

from typing import Any

from services.gateway.remittances.x12 import enveloped
from services.payments.service import SERVICE
from shared import x12
from shared.config import service_database_url
from shared.consumer import records_of
from shared.db import Database
from shared.events import Event, new_event
from shared.events.catalogue import RemittanceReceived
from tests.conftest import encode_signed, unique
from tests.payments.helpers import make_835_file, make_835_set, make_clp, make_consumer, make_plb


def two_sets(p: str) -> str:
    """A file of two payments (two BPR/TRN), one with a provider-level adjustment."""
    return make_835_file(
        [
            make_835_set(
                f"T{p}1",
                [make_clp(f"{p}A", "1", "200", "150", "50", [("PR", "2", "50")])],
                plb=make_plb("WO", f"{p}X", "10"),
            ),
            make_835_set(
                f"T{p}2",
                [
                    make_clp(f"{p}B", "1", "100", "100"),
                    make_clp(f"{p}C", "1", "80", "60", "", [("CO", "45", "20")]),
                ],
            ),
        ]
    )


def remittance(trace: str, text: str) -> Event:
    return new_event(
        RemittanceReceived(
            trace_number=trace, payer_id="SBX001", x12_835=text, received_at="2026-01-10T00:00:00Z"
        ),
        source="/services/gateway",
    )


async def consume(settings: Any, events: list[Event]) -> None:
    db = Database(service_database_url("payments", settings), "payments", pool_size=2)
    try:
        consumer, dlq = make_consumer(db, dict(SERVICE.handlers))
        await consumer.process(records_of(events, encoder=encode_signed))
        assert dlq.parked == []
    finally:
        await db.dispose()


async def posted(admin: Any, p: str) -> list[tuple[Any, ...]]:
    """What was posted under this file's traces, without the trace's own prefix."""
    rows = await admin.fetch(
        "SELECT trace_number, payer_id, amount, claims_paid, provider_adjustments, method, credit_debit"
        " FROM payments.remittances WHERE trace_number LIKE $1 ORDER BY trace_number",
        f"T{p}%",
    )
    return [(r["trace_number"].removeprefix(f"T{p}"), *list(r.values())[1:]) for r in rows]


async def outcomes(admin: Any, events: list[Event]) -> list[tuple[str, list[str]]]:
    rows = await admin.fetch(
        "SELECT f.outcome, array_agg(s.outcome ORDER BY s.set_index) AS sets FROM payments.received_files f"
        " JOIN payments.received_sets s ON s.file_id = f.id WHERE f.event_id = ANY($1::uuid[])"
        " GROUP BY f.id, f.event_id ORDER BY array_position($1::uuid[], f.event_id)",
        [e.id for e in events],
    )
    return [(r["outcome"], list(r["sets"])) for r in rows]


async def test_two_sets_as_two_events_post_as_the_file_did_as_one(settings, admin) -> None:
    whole_p, split_p = unique("W")[:9], unique("S")[:9]
    whole = two_sets(whole_p)
    as_one = remittance(f"T{whole_p}1", whole)
    await consume(settings, [as_one])

    split = two_sets(split_p)
    interchange = x12.parse(split)
    as_two = [
        remittance(f"T{split_p}{n}", enveloped(interchange, t))
        for n, t in ((1, interchange.transactions[0]), (2, interchange.transactions[1]))
    ]
    await consume(settings, as_two)

    assert await posted(admin, split_p) == await posted(admin, whole_p)
    assert len(await posted(admin, split_p)) == 2
    assert await outcomes(admin, [as_one]) == [("posted", ["posted", "posted"])]
    assert await outcomes(admin, as_two) == [("posted", ["posted"]), ("posted", ["posted"])]

    again = [*as_two, remittance(f"T{split_p}1", split)]  # a redelivery, then the whole file
    await consume(settings, again)
    assert len(await posted(admin, split_p)) == 2, "nothing posted twice"
    assert (await outcomes(admin, again))[-1] == ("duplicate", ["duplicate", "duplicate"])
