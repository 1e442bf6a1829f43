"""Defect (bench-mailbox): a 5,000-claim 835 made one 1.15 MB `remittance.received`, over
Kafka's default 1 MB record; the gateway's relay would stall on it and hold back every event
after it. Each transaction set (one payment: one BPR, one TRN) is now its own event, in the
file's ISA/GS, keyed by its own trace number, with its own payer; a set whose event no broker
would take goes to review instead of into the outbox."""

from __future__ import annotations

import json

from shared import x12
from shared.kafka import X12_EVENT_MAX_BYTES
from tests.conftest import end_offsets, read_from, unique
from tests.gateway.helpers import make_partner, post_file, staged
from tests.payments.helpers import make_835_file, make_835_set, make_clp

KAFKA_DEFAULT_MAX = 1_048_576  # broker message.max.bytes and producer max_request_size defaults


def many_claims(prefix: str, n: int) -> list[list[list[str]]]:
    return [make_clp(f"{prefix}{i:06d}", "1", "120", "100", "20", [("PR", "2", "20")]) for i in range(n)]


def wide_claims(prefix: str, n: int) -> list[list[list[str]]]:
    """Claims adjusted many ways (a CAS with six reasons), payer claim numbers of 30."""
    reasons = ["CO", "45", "1", "", "253", "1", "", "59", "1", "", "97", "1", "", "B6", "1", "", "W1", "1"]
    return [
        [
            x12.seg("CLP", f"{prefix}{i:07d}", "1", "126", "100", "20", "12", f"PCCN{prefix}{i:021d}"),
            x12.seg("CAS", *reasons),
        ]
        for i in range(n)
    ]


async def test_each_set_of_an_835_is_its_own_event_that_kafka_takes(gateway, admin, servers) -> None:
    p = unique("S")[:9]
    traces = [f"T{p}A", f"T{p}B", f"T{p}C", f"T{p}D"]
    partner = make_partner(payer_map={"PAYA": "PAYER-A", "PAYB": "PAYER-B"})
    # Sets of 4,000 claims, the size payments posts in seconds (bench-mailbox: 5,000): the
    # published events reach every payments consumer of the shared broker.
    sets = [
        make_835_set(traces[0], wide_claims(f"{p}A", 4000), payer_ref="PAYA"),
        make_835_set(traces[1], wide_claims(f"{p}B", 4000), payer_ref="PAYA"),
        make_835_set(traces[2], wide_claims(f"{p}D", 4000), payer_ref="PAYA"),
        make_835_set(traces[3], many_claims(f"{p}C", 3), payer_ref="PAYB"),
    ]
    text = make_835_file(sets)
    assert len(text) > KAFKA_DEFAULT_MAX, "the whole file would not fit one default record"
    start = await end_offsets(servers.kafka_bootstrap, "remittance.received")
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, text.encode(), partner_id=partner.id)
        assert response.json()["state"] == "processed", response.json()
        rows = await admin.fetch(
            "SELECT event_key, length(payload) AS size FROM gateway.outbox"
            " WHERE event_type = 'remittance.received.v1' AND event_key = ANY($1::text[]) ORDER BY id",
            traces,
        )
        assert [r["event_key"] for r in rows] == traces, "one event per set, keyed by its TRN02"
        assert all(r["size"] < KAFKA_DEFAULT_MAX for r in rows), [r["size"] for r in rows]
        published = await read_from(
            servers.kafka_bootstrap,
            "remittance.received",
            start,
            until=lambda rs: {r.key.decode() for r in rs} >= set(traces),
            timeout=60,
        )
    events = {r.key.decode(): json.loads(r.value) for r in published if r.key.decode() in traces}
    assert [events[t]["payer_id"] for t in traces] == ["PAYER-A", "PAYER-A", "PAYER-A", "PAYER-B"], (
        "payer per set"
    )
    whole_file = x12.parse(text)
    for trace, whole in zip(traces, whole_file.transactions, strict=True):
        alone = x12.parse(events[trace]["x12_835"], expect="835")  # strict: GE01/IEA01/SE01 right
        (transaction,) = alone.transactions
        assert alone.isa.elements == whole_file.isa.elements, "the file's own ISA"
        assert alone.groups[0].gs.elements == whole_file.groups[0].gs.elements, "and GS"
        assert transaction.control_number == whole.control_number, "ST02 as received"
        assert [s.elements for s in transaction.segments] == [s.elements for s in whole.segments]
        assert events[trace]["file_id"] == response.json()["id"]


async def test_a_set_too_large_for_kafka_goes_to_review_and_stages_nothing(gateway, admin) -> None:
    p = unique("L")[:9]
    partner = make_partner(default_payer_id="PAYER-L")
    big = make_835_set(f"T{p}B", wide_claims(f"{p}B", 170_000))  # one check, 170,000 claims
    text = make_835_file([make_835_set(f"T{p}S", many_claims(f"{p}S", 2)), big])
    assert len(text) > X12_EVENT_MAX_BYTES
    async with gateway() as (app, client):
        app.state.gateway_partners.append(partner)
        response = await post_file(client, text.encode(), partner_id=partner.id)
    body = response.json()
    assert (body["kind"], body["state"]) == ("835", "review"), body
    (review,) = body["reviews"]
    assert review["reason"] == "too_large"
    assert review["detail"]["control_number"] == "0002", "the set named, not its data"
    assert await staged(admin, "remittance.received.v1", {f"T{p}S", f"T{p}B"}) == [], "nothing of the file"
