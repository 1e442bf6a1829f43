"""Helpers of the payments tests: claims as claims publishes them, 835s built with the
shared X12 writer (so a test controls every amount), and reading the events payments
published. Builders are `make_<thing>`, HTTP shortcuts `post_<thing>`/`get_<thing>`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from shared import x12
from shared.consumer import EventConsumer
from shared.events import new_event
from shared.events.catalogue import (
    Address,
    ClaimLineSummary,
    ClaimSubmitted,
    Coverage,
    Demographics,
    EncounterCompleted,
    EncounterLine,
    Guarantor,
    PatientUpdated,
    Person,
)
from shared.kafka import KafkaAccess
from tests.conftest import encode_signed, end_offsets, eventually, read_from, token, unique

ALL = token("payments:read", "payments:write", "payments:admin", "ops:read")


async def submit_claim(
    producer,
    *,
    pcn: str,
    account: str,
    payer: str,
    charge: str,
    coverage_order: str = "primary",
    date_of_service: date = date(2026, 1, 5),
    frequency_code: str = "1",
    original_payer_claim_control_number: str | None = None,
    lines: list[tuple[str, str]] | None = None,
    summaries: list[ClaimLineSummary] | None = None,
    claim_type: str = "professional",
    submitted_at: datetime | None = None,
) -> uuid.UUID:
    """Publish `claim.submitted` as the claims service would; `lines` are (code, charge), or
    `summaries` the lines whole (an 837I's, with revenue codes)."""
    claim_id = uuid.uuid4()
    if summaries is None:
        summaries = [
            ClaimLineSummary(line_number=n, code=code, charge=Decimal(price), date_of_service=date_of_service)
            for n, (code, price) in enumerate(lines or [], start=1)
        ]
    event = new_event(
        ClaimSubmitted(
            claim_id=claim_id,
            patient_control_number=pcn,
            patient_id=account,
            account_id=account,
            payer_id=payer,
            total_charge=Decimal(charge),
            x12_837="ISA*...",
            claim_type=claim_type,
            submitted_at=submitted_at or datetime.now(UTC),
            coverage_order=coverage_order,
            date_of_service=date_of_service,
            frequency_code=frequency_code,
            original_payer_claim_control_number=original_payer_claim_control_number,
            lines=summaries,
        ),
        source="/tests/claims",
    )
    topic, key, value, headers = encode_signed(event)
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    return claim_id


async def wait_for_charge(client, account: str, amount: str) -> None:
    async def charged():
        body = (await client.get(f"/v1/accounts/{account}", headers=ALL)).json()
        return body["insurance_pending"] == amount

    await eventually(charged, timeout=60)


def make_clp(
    pcn: str,
    status: str,
    charge: str,
    paid: str,
    pr: str = "",
    cas: list[tuple[str, str, str]] | None = None,
    pccn: str = "PCCN1",
) -> list[list[str]]:
    segs = [x12.seg("CLP", pcn, status, charge, paid, pr, "12", pccn)]
    for group, reason, amount in cas or []:
        segs.append(x12.seg("CAS", group, reason, amount))
    return segs


def make_835_set(
    trace: str,
    claims: list[list[list[str]]],
    *,
    payer_ref: str | None = "SBX001",
    amount: str | None = None,
    plb: list[str] | None = None,
    paid_date: str = "20260110",
    payer_name: str = "SANDBOX HEALTH PLAN",
    payer_n104: str | None = None,
    trace_originator: str | None = "1999999999",
    production_date: str | None = None,
    method: str = "ACH",
) -> list[list[str]]:
    """The body of one 835 transaction set (ST/SE are added by `make_835_file`): BPR (ACH, or
    CHK: then TRN02 is the check number and BPR05-BPR15 are empty, as the guide says), TRN,
    DTM*405, N1*PR (with N104 when given) and REF*2U, N1*PE, LX, the claims, optional PLB.
    BPR02 is the guide's sum (CLP04 less PLB) unless `amount` says otherwise."""
    body: list[list[str]] = []
    total = sum(Decimal(c[0][4]) for c in claims) - (Decimal(plb[4]) if plb else 0)
    bpr_amount = amount if amount is not None else x12.amount(total)
    banking = ["CCP", "01", "999", "DA", "1", "1", "", "01", "9", "DA", "2"]
    if method == "CHK":
        banking = [""] * len(banking)
    body.append(x12.seg("BPR", "I", bpr_amount, "C", method, *banking, paid_date))
    body.append(x12.seg("TRN", "1", trace, trace_originator))
    body.append(x12.seg("DTM", "405", production_date or paid_date))
    body.append(x12.seg("N1", "PR", payer_name, "XV" if payer_n104 else None, payer_n104))
    if payer_ref:
        body.append(x12.seg("REF", "2U", payer_ref))
    body.append(x12.seg("N1", "PE", "TEST CLINIC", "XX", "1234567893"))
    body.append(x12.seg("LX", "1"))
    for claim in claims:
        body.extend(claim)
    if plb:
        body.append(plb)
    return body


def make_835_file(sets: list[list[list[str]]], *, control_number: int = 1, newline: bool = True) -> str:
    """An interchange with one ST..SE per body of `sets` (ST02 0001, 0002, ...)."""
    return x12.build(
        sets,
        transaction_code="835",
        functional_id="HP",
        version="005010X221A1",
        sender_id="SBX001",
        receiver_id="CLINIC",
        control_number=control_number,
        newline=newline,
    )


def make_835(trace: str, claims: list[list[list[str]]], **options: Any) -> str:
    """A small one-set 835 (see `make_835_set`)."""
    return make_835_file([make_835_set(trace, claims, **options)])


def make_plb(reason: str, reference: str, amount: str) -> list[str]:
    """A provider-level adjustment (PLB) of the test clinic; positive reduces the payment."""
    return x12.seg("PLB", "1234567893", "20261231", f"{reason}:{reference}", amount)


def balance_of_sets(text: str) -> list[tuple[str, Decimal, Decimal]]:
    """Per transaction set, read with the shared tokenizer only (not the parser under test):
    (ST02, BPR02 signed by BPR03, sum of CLP04 less the PLB amounts). The 835 guide's
    balancing rule is that the two are equal (005010X221A1, section 1.10.2.1)."""
    _, segments = x12.tokenize(text)
    result: list[tuple[str, Decimal, Decimal]] = []
    control, bpr, total = "", Decimal(0), Decimal(0)
    for segment in segments:
        if segment.id == "ST":
            control, bpr, total = segment.get(2), Decimal(0), Decimal(0)
        elif segment.id == "BPR":
            bpr = Decimal(segment.get(2)) * (-1 if segment.get(3) == "D" else 1)
        elif segment.id == "CLP":
            total += Decimal(segment.get(4))
        elif segment.id == "PLB":
            total -= sum((Decimal(segment.get(i)) for i in range(4, 15, 2) if segment.get(i)), Decimal(0))
        elif segment.id == "SE":
            result.append((control, bpr, total))
    return result


def assert_balanced(text: str, *, except_sets: tuple[str, ...] = ()) -> None:
    """Every set of `text` but `except_sets` (ST02) balances per the guide."""
    for control, bpr, total in balance_of_sets(text):
        if control not in except_sets:
            assert bpr == total, (control, bpr, total)


def make_headers() -> dict[str, str]:
    """Every payments scope and a fresh Idempotency-Key (one logical operation)."""
    return {**ALL, "Idempotency-Key": unique("key")}


async def kafka_offsets(servers: Any, topics: tuple[str, ...]) -> dict[str, dict[TopicPartition, int]]:
    """Where each topic ends now, to read only what a test causes."""
    return {t: await end_offsets(servers.kafka_bootstrap, t) for t in topics}


async def read_events(
    servers: Any, start: dict[str, dict[TopicPartition, int]], topic: str, account: str, count: int
) -> list[dict[str, Any]]:
    """The payloads of `topic` keyed by `account` since `start`, once there are `count`."""
    records = await read_from(
        servers.kafka_bootstrap,
        topic,
        start[topic],
        until=lambda rs: sum(r.key == account.encode() for r in rs) >= count,
    )
    return [json.loads(r.value) for r in records if r.key == account.encode()]


def make_svc(
    code: str, charge: str, paid: str, cas: list[tuple[str, str, str]], allowed: str | None = None
) -> list[list[str]]:
    """An 835 service line (SVC, its CAS, optional AMT*B6 allowed) to add to a `make_clp` claim."""
    segs = [x12.seg("SVC", code, charge, paid, "", "1")]
    segs += [x12.seg("CAS", g, r, a) for g, r, a in cas]
    if allowed:
        segs.append(x12.seg("AMT", "B6", allowed))
    return segs


async def post_835(client, text: str | bytes, *, content_type: str = "application/edi-x12") -> Any:
    """Upload an 835 as its raw body."""
    return await client.post("/v1/remittances", content=text, headers={**ALL, "Content-Type": content_type})


async def get_account(client, account: str) -> dict[str, Any]:
    return (await client.get(f"/v1/accounts/{account}", headers=ALL)).json()


async def get_ledger(client, account: str) -> dict[str, Any]:
    return (await client.get(f"/v1/accounts/{account}/ledger", headers=ALL)).json()


def make_person(first: str, last: str, *, phone: str | None = None, line1: str = "12 Elm St") -> Person:
    """Someone the EHR knows (PHI): name, birth date, address, phone."""
    address = Address(line1=line1, city="Springfield", state="IL", postal_code="62701")
    return Person(
        first_name=first,
        last_name=last,
        birth_date=date(1961, 4, 12),
        gender="F",
        address=address,
        phone=phone,
    )


async def publish_encounter(
    producer,
    account: str,
    patient: Person,
    *,
    subscriber: Person | None = None,
    relationship_code: str = "18",
    date_of_service: date = date(2026, 1, 5),
) -> None:
    """Publish `encounter.completed` as the EHR would, with the patient and their coverage
    (the subscriber, when it is not the patient, is who the bill goes to)."""
    coverage = Coverage(
        payer_id="SBX001", member_id="SBX10001", relationship_code=relationship_code, subscriber=subscriber
    )
    encounter = EncounterCompleted(
        encounter_id=unique("enc"),
        patient_id=account,
        payer_id="SBX001",
        billing_provider_npi="1234567893",
        date_of_service=date_of_service,
        place_of_service="11",
        diagnoses=["E11.9"],
        lines=[EncounterLine(code="99213", charge=Decimal("150.00"))],
        patient=patient,
        coverages=[coverage],
    )
    topic, key, value, headers = encode_signed(new_event(encounter, source="/tests/ehr"))
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)


async def post_statement_run(client, account: str, statement_date: str) -> Any:
    """Run the statement cycle for one account on a date."""
    return await client.post(
        "/v1/statements/run-cycle",
        params={"statement_date": statement_date, "account_id": account},
        headers=ALL,
    )


async def post_cycle(client, as_of: str) -> dict[str, Any]:
    """Run the daily cycle (plan reminders, late installments, dunning steps) for a date."""
    resp = await client.post("/v1/payment-plans/run-cycle", params={"as_of": as_of}, headers=ALL)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def put_payer(client, payer_id: str, name: str, identifiers: list[str]) -> Any:
    """Register (or re-map) a payer and the identifiers its 835s carry."""
    return await client.put(
        f"/v1/payers/{payer_id}", json={"name": name, "identifiers": identifiers}, headers=ALL
    )


async def get_received_file(client, file_id: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/received-files/{file_id}", headers=ALL)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def get_dunning(client, account: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/accounts/{account}/dunning", headers=ALL)
    assert resp.status_code == 200, resp.text
    return resp.json()


# The practice's default dunning sequence (services/payments/settings.py): statements at 0, 30,
# 60 and 90 days, a final notice 30 days after the last statement, collections 30 days later.
DUNNING_DAYS = (0, 30, 60, 90, 120, 150)


async def dun_to_collections(client, account: str, first: date) -> None:
    """Take an owing account through the whole default sequence: the statement run starts it,
    then one daily cycle per step."""
    assert (await post_statement_run(client, account, str(first))).status_code == 200
    for days in DUNNING_DAYS[1:]:
        await post_cycle(client, str(first + timedelta(days=days)))


async def wait_for_parties(admin, account: str) -> None:
    """Until payments has kept the account's patient and guarantor from `encounter.completed`
    (a fresh consumer group first reads the topic's history)."""

    async def kept():
        return await admin.fetchval(
            "SELECT count(*) FROM payments.encounter_parties WHERE account_id = $1", account
        )

    await eventually(kept, timeout=120, what="the encounter's parties kept by payments")


class FakeDlq:
    """Stands in for the dead-letter producer of an `EventConsumer` driven by a test."""

    def __init__(self) -> None:
        self.parked: list[Any] = []

    async def send_and_wait(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> None:
        self.parked.append(ConsumerRecord(topic, 0, 0, 0, 0, key, value, None, 0, 0, headers))


def make_consumer(
    db: Any, handler_map: dict[str, Any], *, group_id: str | None = None
) -> tuple[EventConsumer, FakeDlq]:
    """The payments consumer on the test database with a fake dead-letter topic, to drive
    through `process(records)` without a broker (`group_id`: the same for two replicas)."""
    dlq = FakeDlq()
    c = EventConsumer(
        db,
        KafkaAccess("unused:9092", None, None),
        service="payments",
        handlers=handler_map,
        group_id=group_id or f"test-batches-{uuid.uuid4().hex[:8]}",
        max_attempts=2,
        retry_base_seconds=0.01,
        dlq_producer=dlq,  # type: ignore[arg-type]
    )
    return c, dlq


async def post_charge(client, account: str, amount: str, service_date: str = "2026-01-02") -> Any:
    """A self-pay charge on the account (which makes the account known to payments)."""
    return await client.post(
        f"/v1/accounts/{account}/charges",
        json={"amount": amount, "description": "Office visit", "service_date": service_date},
        headers=make_headers(),
    )


async def post_payment(client, account: str, amount: Any, **extra: Any) -> Any:
    """A patient payment (card unless `method` says otherwise)."""
    body = {"account_id": account, "amount": amount, "method": "card", **extra}
    return await client.post("/v1/payments", json=body, headers=make_headers())


async def post_adjustment(client, account: str, amount: Any, direction: str = "credit", **extra: Any) -> Any:
    """A manual adjustment of the account's patient balance."""
    body = {"amount": amount, "direction": direction, "reason": "courtesy", **extra}
    return await client.post(f"/v1/accounts/{account}/adjustments", json=body, headers=make_headers())


async def post_refund(client, payment_id: str, amount: Any) -> Any:
    """A refund of (part of) a patient payment."""
    return await client.post(
        f"/v1/payments/{payment_id}/refunds", json={"amount": amount}, headers=make_headers()
    )


def aging_total(account: dict[str, Any]) -> Decimal:
    """The sum of an account view's aging buckets."""
    return sum((Decimal(v) for v in account["aging"].values()), Decimal("0.00"))


def make_bai2(
    as_of: date,
    transactions: list[tuple[str, int, str, str, str]],
    *,
    account: str = "000123456789",
) -> str:
    """A BAI2 (version 2) bank file with one group and one account: 01 file header, 02 group
    header (as-of date = the bank date), 03 account identifier, one 16 transaction detail per
    (type code, amount in cents, bank reference, customer reference, text), then 49/98/99
    trailers with the control totals (sum of the amounts) and record counts the BAI2 spec asks
    for (each trailer counts the records of its level, itself and its header included)."""
    day = as_of.strftime("%y%m%d")
    details = []
    for type_code, cents, bank_ref, customer_ref, text in transactions:
        record = f"16,{type_code},{cents},Z,{bank_ref},{customer_ref}"
        details.append(f"{record},{text}" if text else f"{record}/")
    total = sum(t[1] for t in transactions)
    account_records = [f"03,{account},USD,/", *details]
    account_records.append(f"49,{total},{len(account_records) + 1}/")
    group = [f"02,CLINIC,BANKUS33,1,{day},0800,USD,2/", *account_records]
    group.append(f"98,{total},1,{len(group) + 1}/")
    records = [f"01,BANKUS33,CLINIC,{day},0800,{uuid.uuid4().hex[:8]},,,2/", *group]
    records.append(f"99,{total},1,{len(records) + 1}/")
    return "\n".join(records) + "\n"


def make_core_trn(trace: str, originator: str = "1999999999") -> str:
    """What a bank reports as an ACH credit's text under the CORE EFT & ERA reassociation
    rule: the CCD+ addenda carries the 835's TRN segment (TRN01=1, TRN02 the trace, TRN03 the
    payer's originating company id)."""
    return f"HCCLAIMPMT SANDBOX HEALTH TRN*1*{trace}*{originator}\\"


async def post_bank_deposits(
    client, text: str, *, content_type: str = "text/plain", key: str | None = None
) -> Any:
    """Upload a bank file (BAI2 as text/plain or application/octet-stream, CSV as text/csv)."""
    headers = {**ALL, "Content-Type": content_type, "Idempotency-Key": key or unique("key")}
    return await client.post("/v1/bank-deposits", content=text, headers=headers)


async def get_reconciliation(client, day_from: str, day_to: str, *, as_of: str) -> dict[str, Any]:
    """The reconciliation report for bank and paid dates day_from..day_to, aged as of `as_of`."""
    params = {"date_from": day_from, "date_to": day_to, "as_of": as_of}
    resp = await client.get("/v1/reports/reconciliation", params=params, headers=ALL)
    assert resp.status_code == 200, resp.text
    return resp.json()


# --- the front office's events (issue 19) -----------------------------------------------------


async def publish_frontoffice(producer, payload: Any) -> uuid.UUID:
    """Publish a front-office event as the frontoffice service would (a service's events are
    not signed); its event id, to wait for payments to have handled it."""
    event = new_event(payload)
    topic, key, value, headers = encode_signed(event)
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    return event.id


async def wait_handled(admin, *event_ids: uuid.UUID) -> None:
    """Until payments' consumer has handled these events (their inbox rows commit with the
    handler's effect)."""

    async def handled():
        found = await admin.fetchval(
            "SELECT count(DISTINCT event_id) FROM payments.inbox WHERE event_id = ANY($1::uuid[])",
            list(event_ids),
        )
        return found == len(event_ids)

    await eventually(handled, timeout=120, what="the front office's events handled by payments")


def make_patient_update(
    account: str,
    revision: int,
    line1: str,
    *,
    guarantor: Demographics | None = None,
    relationship_code: str = "18",
    phone: str | None = None,
) -> PatientUpdated:
    """The registry's whole record of a patient (Pat Doe) at a revision, living at `line1`."""
    address = Address(line1=line1, city="Springfield", state="IL", postal_code="62704")
    patient = Demographics(
        first_name="Pat", last_name="Doe", birth_date=date(1961, 4, 12), address=address, phone=phone
    )
    return PatientUpdated(
        patient_id=account,
        revision=revision,
        patient=patient,
        guarantor=Guarantor(relationship_code=relationship_code, person=guarantor),
        changed_fields=["address"] if revision > 1 else [],
        reason="moved" if revision > 1 else "registration",
        changed_by="frontdesk-1",
        changed_at=datetime.now(UTC),
    )
