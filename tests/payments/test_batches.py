"""The payments consumer's batched handlers: a poll handled in one call must leave exactly
what handling its events one at a time leaves (duplicates of a claim and of a trace number,
a parked claim matched later, a corrected claim, reversals, a second reversal of one claim
in the same poll), and a malformed 835 among good ones is dead-lettered while they post.
Driven through `EventConsumer.process` on the test database (no broker needed)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aiokafka.structs import ConsumerRecord

from services.payments.claimcopies.events import on_claim_submitted
from services.payments.receipts.events import on_remittance_received
from services.payments.service import SERVICE
from shared import context
from shared.config import service_database_url
from shared.consumer import EventConsumer, dlq_headers, records_of
from shared.db import Database
from shared.events import new_event
from shared.events.catalogue import ClaimLineSummary, ClaimSubmitted, RemittanceReceived
from shared.kafka import KafkaAccess
from tests.conftest import encode_signed
from tests.payments.helpers import make_835, make_clp

D = Decimal


class FakeDlq:
    def __init__(self) -> None:
        self.parked: list[Any] = []

    async def send_and_wait(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> None:
        self.parked.append(ConsumerRecord(topic, 0, 0, 0, 0, key, value, None, 0, 0, headers))


class Scenario:
    """Two polls of claim.submitted and remittance.received for one account, with ids
    and trace numbers of their own (`p`), so two runs can be compared after renaming."""

    def __init__(self) -> None:
        self.p = uuid.uuid4().hex[:8].upper()
        self.account = f"acct-{self.p}"
        self.claims: dict[str, str] = {}  # claim id -> tag
        self._n = 0

    def _event(self, payload: Any, source: str) -> Any:
        self._n += 1
        context.start(f"corr-{self.p}-{self._n}")
        event = new_event(payload, source=source)
        context.reset()
        return event

    def claim(self, tag: str, pcn: str, charge: str, *, payer: str = "SBX001", frequency: str = "1",
              original: str | None = None) -> Any:  # fmt: skip
        claim_id = uuid.uuid4()
        self.claims[str(claim_id)] = tag
        half = (D(charge) / 2).quantize(D("0.01"))
        return self._event(
            ClaimSubmitted(
                claim_id=claim_id,
                patient_control_number=self.p + pcn,
                patient_id=self.account,
                account_id=self.account,
                payer_id=payer,
                total_charge=D(charge),
                x12_837="ISA*...",
                submitted_at=datetime.now(UTC),
                date_of_service=date(2026, 1, 5),
                frequency_code=frequency,
                original_payer_claim_control_number=original,
                lines=[
                    ClaimLineSummary(
                        line_number=1, code="99213", charge=half, date_of_service=date(2026, 1, 5)
                    ),
                    ClaimLineSummary(
                        line_number=2, code="85025", charge=D(charge) - half, date_of_service=date(2026, 1, 5)
                    ),
                ],
            ),
            "/services/claims",
        )

    def remittance(self, trace: str, clps: list[list[list[str]]]) -> Any:
        trace = f"T{self.p}{trace}"
        return self._event(
            RemittanceReceived(
                trace_number=trace,
                payer_id="SBX001",
                x12_835=make_835(trace, clps),
                received_at=datetime.now(UTC),
            ),
            "/partners/payer",
        )

    def polls(self) -> list[list[Any]]:
        p = self.p
        a = self.claim("A", "A", "100.00")
        cas_a = [("CO", "45", "20"), ("PR", "1", "20")]
        neg_a = [(g, r, "-" + x) for g, r, x in cas_a]
        t1 = self.remittance("1", [make_clp(p + "A", "1", "100", "60", "20", cas_a, pccn="ICN-A")])
        first = [
            a,
            self._event(a.data, "/services/claims"),  # the same claim delivered again
            self.claim("B", "B", "50.00"),
            self.claim("D", "D", "40.00", payer="SBX002"),
            t1,
            self._event(t1.data, "/partners/payer"),  # the same trace number again
            self.remittance("2", [make_clp(p + "C", "1", "70", "50", "20", [("PR", "3", "20")])]),
            self.remittance(
                "3",
                [
                    make_clp(p + "B", "1", "50", "40", "", [("CO", "45", "10")], pccn="ICN-B"),
                    make_clp(p + "D", "1", "40", "40"),  # sent to SBX002: parked
                ],
            ),
        ]
        second = [
            self.claim("C", "C", "70.00"),  # the parked CLP of T2 waits for it
            self.claim("A2", "A", "120.00", frequency="7", original="ICN-A"),
            self.remittance(
                "4",
                [
                    make_clp(p + "A", "22", "-100", "-60", "-20", neg_a, pccn="ICN-A"),
                    make_clp(
                        p + "A",
                        "1",
                        "120",
                        "90",
                        "20",
                        [("CO", "45", "10"), ("PR", "1", "20")],
                        pccn="ICN-A2",
                    ),
                ],
            ),
            self.remittance(
                "5", [make_clp(p + "B", "22", "-50", "-40", "", [("CO", "45", "-10")], pccn="ICN-B")]
            ),
            # A second reversal of B in the same poll finds nothing left to reverse: parked.
            self.remittance(
                "6", [make_clp(p + "B", "22", "-50", "-40", "", [("CO", "45", "-10")], pccn="ICN-B")]
            ),
        ]
        return [records_of(first, encoder=encode_signed), records_of(second, encoder=encode_signed)]


async def outcome(admin, s: Scenario) -> list[Any]:
    """Everything the scenario left, with its own ids and trace numbers renamed."""
    pcn = f"{s.p}%"
    rows = {
        "ledger": await admin.fetch(
            "SELECT entry_type, amount, bucket, description, claim_id, posting_id IS NOT NULL AS posted, "
            "group_code, reason_code, service_date FROM payments.ledger_entries WHERE account_id = $1 "
            "ORDER BY id",
            s.account,
        ),
        "copies": await admin.fetch(
            "SELECT claim_id, patient_control_number, frequency_code, total_charge, lines "
            "FROM payments.claim_copies WHERE account_id = $1 "
            "ORDER BY patient_control_number, frequency_code",
            s.account,
        ),
        "remittances": await admin.fetch(
            "SELECT trace_number, amount, source, received_by FROM payments.remittances "
            "WHERE trace_number LIKE $1 ORDER BY trace_number",
            f"T{pcn}",
        ),
        "postings": await admin.fetch(
            "SELECT r.trace_number, p.clp_position, p.claim_id, p.status_code, p.paid, p.matched_by, "
            "p.reverses_posting_id IS NOT NULL AS reverses FROM payments.claim_postings p "
            "JOIN payments.remittances r ON r.id = p.remittance_id WHERE p.patient_control_number LIKE $1 "
            "ORDER BY r.trace_number, p.clp_position, p.status_code",
            pcn,
        ),
        "unmatched": await admin.fetch(
            "SELECT r.trace_number, u.patient_control_number, u.status_code, u.reason, "
            "u.resolved_at IS NOT NULL AS resolved, u.resolved_by FROM payments.unmatched_claims u "
            "JOIN payments.remittances r ON r.id = u.remittance_id WHERE u.patient_control_number LIKE $1 "
            "ORDER BY r.trace_number, u.patient_control_number, u.status_code",
            pcn,
        ),
        "events": await admin.fetch(
            "SELECT topic, event_key, headers->>'ce_correlationid' AS correlation, "
            "convert_from(payload, 'UTF8')::jsonb - 'payment_id' - 'posted_at' - 'reverses_payment_id' "
            "AS payload "
            "FROM payments.outbox WHERE convert_from(payload, 'UTF8')::jsonb->>'account_id' = $1 ORDER BY id",
            s.account,
        ),
    }
    text = json.dumps({k: [dict(r) for r in v] for k, v in rows.items()}, default=str)
    for claim_id, tag in s.claims.items():
        text = text.replace(claim_id, f"claim-{tag}")
    return json.loads(text.replace(s.p, "<p>"))


def consumer(db: Database, handler_map: dict[str, Any]) -> tuple[EventConsumer, FakeDlq]:
    dlq = FakeDlq()
    c = EventConsumer(
        db,
        KafkaAccess("unused:9092", None, None),
        service="payments",
        handlers=handler_map,
        group_id=f"test-batches-{uuid.uuid4().hex[:8]}",
        max_attempts=2,
        retry_base_seconds=0.01,
        dlq_producer=dlq,  # type: ignore[arg-type]
    )
    return c, dlq


async def test_a_poll_in_one_call_leaves_what_its_events_one_at_a_time_leave(settings, admin):
    db = Database(service_database_url("payments", settings), "payments", pool_size=2)
    try:
        batch, one_by_one = Scenario(), Scenario()
        together, dlq1 = consumer(db, dict(SERVICE.handlers))
        for poll in batch.polls():
            await together.process(poll)
        # The per-event handlers, one record per transaction.
        alone, dlq2 = consumer(
            db,
            {
                "claim.submitted": on_claim_submitted,
                "remittance.received": on_remittance_received,
            },
        )
        for poll in one_by_one.polls():
            for record in poll:
                await alone.process([record])
    finally:
        await db.dispose()
    assert dlq1.parked == [] and dlq2.parked == []
    got, expected = await outcome(admin, batch), await outcome(admin, one_by_one)
    for part in expected:
        assert got[part] == expected[part], part

    # And what that is: one copy per claim, one remittance per trace number, the parked
    # claim matched when its claim came (with that claim event's correlation id), the
    # original retired and reversed, the second reversal of B parked.
    assert [c["patient_control_number"] for c in got["copies"]].count("<p>A") == 2
    assert [r["trace_number"] for r in got["remittances"]] == [f"T<p>{i}" for i in range(1, 7)]
    assert {(u["patient_control_number"], u["resolved_by"]) for u in got["unmatched"]} == {
        ("<p>C", "system:late-match"),
        ("<p>D", None),
        ("<p>B", None),
    }
    late = [e for e in got["events"] if e["event_key"] == "claim-C"]
    assert len(late) == 1 and late[0]["correlation"] == "corr-<p>-9"  # the claim C event's
    by_trace = {json.loads(e["payload"])["trace_number"]: e["correlation"] for e in got["events"]}
    assert by_trace["T<p>1"] == "corr-<p>-2" and by_trace["T<p>5"] == "corr-<p>-12"
    # A2's and C's patient shares, B's charge back with insurance after its reversal, D unpaid.
    assert sum(D(e["amount"]) for e in got["ledger"]) == D("20.00") + D("20.00") + D("50.00") + D("40.00")


async def test_a_malformed_835_in_a_poll_is_dead_lettered_and_the_others_post(settings, admin):
    db = Database(service_database_url("payments", settings), "payments", pool_size=2)
    s = Scenario()
    good1 = s.remittance("1", [make_clp(s.p + "X", "1", "100", "80", "20", [("PR", "1", "20")])])
    bad = s.remittance("2", [make_clp(s.p + "Y", "1", "100", "80", "15", [("PR", "1", "15")])])
    good2 = s.remittance("3", [make_clp(s.p + "Z", "1", "30", "30")])
    try:
        c, dlq = consumer(db, dict(SERVICE.handlers))
        await c.process(records_of([s.claim("X", "X", "100.00"), good1, bad, good2], encoder=encode_signed))
    finally:
        await db.dispose()
    (parked,) = dlq.parked
    reason = dlq_headers(parked)["dlq_error"]
    assert parked.topic == "remittance.received.dlq"
    assert "invalid 835" in reason and "claim does not balance" in reason and "CLP04" in reason
    traces = await admin.fetch(
        "SELECT trace_number FROM payments.remittances WHERE trace_number LIKE $1 ORDER BY 1", f"T{s.p}%"
    )
    assert [r["trace_number"] for r in traces] == [f"T{s.p}1", f"T{s.p}3"]
    view = await admin.fetchrow(
        "SELECT sum(amount) FILTER (WHERE bucket = 'insurance') AS ins, "
        "sum(amount) FILTER (WHERE bucket = 'patient') AS pat "
        "FROM payments.ledger_entries WHERE account_id = $1",
        s.account,
    )
    assert (view["ins"], view["pat"]) == (D("0.00"), D("20.00"))
