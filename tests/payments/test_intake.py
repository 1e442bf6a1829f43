"""Remittance intake (issue 15, items 1-3) against real PostgreSQL and Kafka, from the 835
guide (ASC X12 005010X221A1) and the 999 acknowledgment's per-set semantics:

* every 835 that reaches us is kept first, with its outcome, refused ones included;
* each ST/SE transaction set stands on its own (999: AK2/IK5 accept or reject per set, IK3
  and IK4 name the segment and element): balanced sets post, broken ones are refused with
  every error found (ST02, segment position, segment id, element, rule);
* a duplicate is the same payer, the same TRN02 and the same transaction-set content; the
  same TRN02 with other content is a conflict, kept for review and never dropped;
* an 835 whose payer (loop 1000A N1*PR, REF*2U, TRN03) we cannot resolve waits in a
  "payer needed" queue and posts once staff register or map the payer;
* every cent of a received file is posted, parked in the unmatched queue, or held.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from services.payments.service import SERVICE
from shared.config import service_database_url
from shared.consumer import dlq_headers, records_of
from shared.db import Database
from shared.events import new_event
from shared.events.catalogue import RemittanceReceived
from tests.conftest import encode_signed, running_service, token, unique
from tests.payments.helpers import (
    ALL,
    assert_balanced,
    get_account,
    get_ledger,
    get_received_file,
    make_835,
    make_835_file,
    make_835_set,
    make_clp,
    make_consumer,
    make_plb,
    make_svc,
    post_835,
    put_payer,
    submit_claim,
    wait_for_charge,
)

D = Decimal
ADMIN = token("payments:read", "payments:write", "payments:admin", subject="billing-manager")


@pytest.fixture(scope="module")
async def payments(settings):
    async with running_service("payments", settings) as (app, client):
        yield app, client


async def claim_for(client: Any, producer: Any, charge: str, *, payer: str = "SBX001") -> tuple[str, str]:
    """A submitted claim (its PCN and account), charged on the account."""
    account, pcn = unique("acct"), unique("P")[:17]
    await submit_claim(producer, pcn=pcn, account=account, payer=payer, charge=charge)
    await wait_for_charge(client, account, charge)
    return pcn, account


def money_ties(money: dict[str, Any]) -> bool:
    """The file's identity: what its sets' BPR02 say is, to the cent, posted, parked in the
    unmatched queue, already posted (duplicates) or held (payer needed, conflict, refused),
    or explicitly dismissed, replaced or repaired."""
    buckets = ("posted", "unmatched", "duplicate", "payer_needed", "conflict", "refused")
    buckets += ("dismissed", "replaced", "repaired")
    return sum((D(money[b]) for b in buckets), D(0)) == D(money["deposit"])


# --- item 1: a duplicate is the same content; the same trace with other content is a conflict


async def test_same_trace_with_other_content_is_a_conflict_kept_for_review(payments, producer):
    _, client = payments
    pcn, account = await claim_for(client, producer, "100.00")
    trace = unique("TRN")
    claim = make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")])
    first = make_835(trace, [claim])
    # The payer's corrected file: same check number (TRN02), a PLB added and another date.
    corrected = make_835(trace, [claim], plb=make_plb("WO", "OVERPAY", "10"), paid_date="20260111")
    assert_balanced(first)
    assert_balanced(corrected)

    posted = await post_835(client, first)
    assert posted.status_code == 201, posted.text
    original_id = posted.json()["remittances"][0]["id"]

    conflict = await post_835(client, corrected)
    assert conflict.status_code == 409, conflict.text
    assert conflict.headers["content-type"].startswith("application/problem+json")
    problem = conflict.json()
    differs = {e["field"].rsplit(".", 1)[-1] for e in problem["errors"]}
    assert {"BPR02", "BPR16", "PLB"} <= differs, problem
    assert all(e["rule"] == "differs_from_posted" for e in problem["errors"])
    for value in (pcn, "80.00", "70.00", "2026-01-11", "20260111"):  # names fields, never values
        assert value not in conflict.text
    file_id = conflict.headers["location"].rsplit("/", 1)[-1]

    # Nothing posted twice, nothing dropped: held, listed for review, money visible.
    ledger = await get_ledger(client, account)
    assert [e["entry_type"] for e in ledger["entries"]].count("insurance_payment") == 1
    kept = await get_received_file(client, file_id)
    assert kept["outcome"] == "held"
    (held,) = kept["sets"]
    assert held["outcome"] == "conflict" and held["remittance_id"] == original_id
    assert D(kept["money"]["conflict"]) == D("70.00") and money_ties(kept["money"])
    reviews = (await client.get("/v1/remittance-reviews", params={"trace_number": trace}, headers=ALL)).json()
    (review,) = reviews["items"]
    assert review["id"] == held["id"] and review["remittance_id"] == original_id
    assert {d["element"] for d in review["differences"]} >= {"BPR02", "BPR16", "PLB"}

    # The same corrected file again is the same conflict, not a second review item.
    again = await post_835(client, corrected)
    assert again.status_code == 409
    reviews = (await client.get("/v1/remittance-reviews", params={"trace_number": trace}, headers=ALL)).json()
    assert len(reviews["items"]) == 1
    # The first file again is still a plain duplicate.
    duplicate = await post_835(client, first)
    assert duplicate.status_code == 200 and duplicate.json()["remittances"][0]["duplicate"] is True


async def test_a_resent_set_in_another_interchange_is_a_duplicate_by_its_own_content(payments, producer):
    """The hash is the transaction set's (BPR..PLB), not the file's: the same set in a new
    interchange (other ISA13, ST02 and line breaks) next to a new set is a duplicate, and the
    new set posts."""
    _, client = payments
    pcn, account = await claim_for(client, producer, "60.00")
    pcn2, account2 = await claim_for(client, producer, "40.00")
    one = make_835_set(unique("TRN"), [make_clp(pcn, "1", "60", "60")])
    two = make_835_set(unique("TRN"), [make_clp(pcn2, "1", "40", "30", "10", [("PR", "2", "10")])])
    assert (await post_835(client, make_835_file([one]))).status_code == 201
    both = make_835_file([two, one], control_number=77, newline=False)
    assert_balanced(both)
    resp = await post_835(client, both)
    assert resp.status_code == 201, resp.text
    assert [s["outcome"] for s in resp.json()["sets"]] == ["posted", "duplicate"]
    assert [r["duplicate"] for r in resp.json()["remittances"]] == [False, True]
    assert (await get_account(client, account))["balance"] == "0.00"
    assert (await get_account(client, account2))["patient_due"] == "10.00"


async def conflict_pair(client: Any, producer: Any) -> dict[str, Any]:
    """A posted remittance and a held conflict of the same trace number (item 1)."""
    pcn, account = await claim_for(client, producer, "100.00")
    trace = unique("TRN")
    first = make_835(trace, [make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")], pccn="ICN-1")])
    second = make_835(trace, [make_clp(pcn, "1", "100", "90", "10", [("PR", "1", "10")], pccn="ICN-1")])
    original = (await post_835(client, first)).json()["remittances"][0]
    held = await post_835(client, second)
    assert held.status_code == 409, held.text
    file_id = held.headers["location"].rsplit("/", 1)[-1]
    (review,) = (await get_received_file(client, file_id))["sets"]
    return {
        "pcn": pcn,
        "account": account,
        "trace": trace,
        "original": original,
        "review": review,
        "file_id": file_id,
        "text": second,
    }


async def test_a_conflict_replacing_the_original_reverses_it_and_posts_the_new_one(payments, producer):
    _, client = payments
    c = await conflict_pair(client, producer)
    resolve = f"/v1/remittance-reviews/{c['review']['id']}/resolve"
    clerk = token("payments:read", "payments:write")
    refused = await client.post(resolve, json={"action": "replace", "reason": "corrected"}, headers=clerk)
    assert refused.status_code == 403  # money administration: payments:admin
    done = await client.post(
        resolve, json={"action": "replace", "reason": "payer corrected the payment"}, headers=ADMIN
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["outcome"] == "posted" and body["resolution"] == "replace"
    new_id = body["remittance_id"]
    # The original's postings reversed through the reversal path; the new payment posted.
    ledger = await get_ledger(client, c["account"])
    payments_ = [D(e["amount"]) for e in ledger["entries"] if e["entry_type"] == "insurance_payment"]
    assert payments_ == [D("-80.00"), D("80.00"), D("-90.00")]
    account = await get_account(client, c["account"])
    assert (account["insurance_pending"], account["patient_due"], account["balance"]) == (
        "0.00",
        "10.00",
        "10.00",
    )
    old = (await client.get(f"/v1/remittances/{c['original']['id']}", headers=ALL)).json()
    assert old["replaced_by"] == new_id
    new = (await client.get(f"/v1/remittances/{new_id}", headers=ALL)).json()
    assert new["replaces"] == c["original"]["id"] and D(new["totals"]["posted"]) == D("90.00")
    # Both files' money is accounted for: the first's is replaced, the second's posted.
    kept = await get_received_file(client, c["file_id"])
    assert (
        kept["outcome"] == "posted" and D(kept["money"]["posted"]) == D("90.00") and money_ties(kept["money"])
    )
    again = await client.post(resolve, json={"action": "dismiss", "reason": "twice"}, headers=ADMIN)
    assert again.status_code == 409
    trail = (
        await client.get(
            "/v1/audit",
            params={"resource_id": c["review"]["id"], "resource_type": "remittance_review"},
            headers=ALL,
        )
    ).json()
    assert [(e["action"], e["actor"]) for e in trail if e["outcome"] == "success"] == [
        ("resolve", "billing-manager")
    ]
    # The corrected file sent again is a duplicate of what now stands.
    resent = await post_835(client, c["text"])
    assert resent.status_code == 200 and resent.json()["remittances"][0]["id"] == new_id


async def test_a_conflict_posted_as_an_additional_remittance_posts_its_money(payments, producer):
    _, client = payments
    pcn, account = await claim_for(client, producer, "100.00")
    pcn2, account2 = await claim_for(client, producer, "50.00")
    trace = unique("TRN")
    await post_835(client, make_835(trace, [make_clp(pcn, "1", "100", "100")]))
    # A second, different payment that reuses the check number.
    other = await post_835(client, make_835(trace, [make_clp(pcn2, "1", "50", "50")]))
    assert other.status_code == 409
    problem = other.json()
    assert {e["field"].rsplit(".", 1)[-1] for e in problem["errors"]} >= {"BPR02", "CLP01"}
    file_id = other.headers["location"].rsplit("/", 1)[-1]
    (review,) = (await get_received_file(client, file_id))["sets"]
    no_reason = await client.post(
        f"/v1/remittance-reviews/{review['id']}/resolve", json={"action": "post_additional"}, headers=ADMIN
    )
    assert no_reason.status_code == 422
    done = await client.post(
        f"/v1/remittance-reviews/{review['id']}/resolve",
        json={"action": "post_additional", "reason": "a separate payment under a reused check number"},
        headers=ADMIN,
    )
    assert done.status_code == 200, done.text
    assert (await get_account(client, account))["balance"] == "0.00"
    assert (await get_account(client, account2))["balance"] == "0.00"
    listed = (await client.get("/v1/remittances", params={"trace_number": trace}, headers=ALL)).json()
    assert len(listed["items"]) == 2
    open_reviews = (
        await client.get("/v1/remittance-reviews", params={"trace_number": trace}, headers=ALL)
    ).json()
    assert open_reviews["items"] == []


async def test_a_conflict_dismissed_with_a_reason_posts_nothing_and_says_so(payments, producer):
    _, client = payments
    c = await conflict_pair(client, producer)
    resolve = f"/v1/remittance-reviews/{c['review']['id']}/resolve"
    done = await client.post(
        resolve, json={"action": "dismiss", "reason": "test file sent by mistake"}, headers=ADMIN
    )
    assert done.status_code == 200 and done.json()["outcome"] == "dismissed"
    assert done.json()["resolution_reason"] == "test file sent by mistake"
    account = await get_account(client, c["account"])
    assert account["patient_due"] == "20.00"  # the original posting stands
    kept = await get_received_file(client, c["file_id"])
    assert kept["outcome"] == "dismissed" and D(kept["money"]["dismissed"]) == D("90.00")
    assert money_ties(kept["money"])


async def test_two_versions_of_one_trace_uploaded_at_once_post_one_and_hold_the_other(payments, producer):
    _, client = payments
    pcn, account = await claim_for(client, producer, "100.00")
    trace = unique("TRN")
    a = make_835(trace, [make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")])])
    b = make_835(trace, [make_clp(pcn, "1", "100", "70", "30", [("PR", "1", "30")])])
    answers = await asyncio.gather(*[post_835(client, text) for text in (a, b) * 4])
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 1 and codes.count(409) == 4 and codes.count(200) == 3, codes
    ledger = await get_ledger(client, account)
    assert [e["entry_type"] for e in ledger["entries"]].count("insurance_payment") == 1
    reviews = (await client.get("/v1/remittance-reviews", params={"trace_number": trace}, headers=ALL)).json()
    assert len(reviews["items"]) == 1


# --- item 2: each set stands on its own; every error reported; every file kept; repair


def three_sets(
    pcn_good: str, pcn_bad: str, pcn_other: str, *, broken: bool = True, traces: list[str] | None = None
) -> tuple[str, list[str]]:
    """A file of three sets; with `broken`, the second (ST02 0002) breaks the guide five ways."""
    t1, t2, t3 = traces or [unique("TRN"), unique("TRN"), unique("TRN")]
    first = make_835_set(t1, [make_clp(pcn_good, "1", "100", "80", "20", [("PR", "1", "20")])])
    if broken:
        second = make_835_set(
            t2,
            [
                # CLP03 - CLP04 - CAS = 100 - 70 - 20 = 10: loop 2100 does not balance.
                make_clp(pcn_bad, "1", "100", "70", "20", [("PR", "1", "20")]),
                # SVC02 - SVC03 - CAS = 50 - 40 - 5: loop 2110 does not balance, nor its claim.
                make_clp(pcn_bad + "B", "1", "50", "40", "")
                + make_svc("HC:99213", "50", "40", [("CO", "45", "5")]),
            ],
            amount="999",  # BPR02 is not sum(CLP04) - PLB = 110
            production_date="20261399",  # DTM*405 is not a date
        )
    else:
        second = make_835_set(
            t2,
            [
                make_clp(pcn_bad, "1", "100", "70", "30", [("PR", "1", "30")]),
                make_clp(pcn_bad + "B", "1", "50", "40", "")
                + make_svc("HC:99213", "50", "40", [("CO", "45", "10")]),
            ],
        )
    third = make_835_set(t3, [make_clp(pcn_other, "1", "30", "30")], plb=make_plb("CV", "CAPITATION", "5"))
    return make_835_file([first, second, third]), [t1, t2, t3]


async def test_a_multi_set_file_posts_its_balanced_sets_and_reports_each_error_of_the_other(
    payments, producer
):
    """Must-show: a three-set file whose second set is unbalanced posts sets 1 and 3 and
    refuses set 2 alone, with each of its errors as a 999 would name them (IK3 segment
    position and id, IK4 element, the rule)."""
    _, client = payments
    pcn, account = await claim_for(client, producer, "100.00")
    text, _ = three_sets(pcn, unique("B")[:15], unique("O")[:17])
    assert_balanced(text, except_sets=("0002",))
    resp = await post_835(client, text)
    assert resp.status_code == 207, resp.text
    body = resp.json()
    assert body["outcome"] == "partially_posted"
    assert [(s["control_number"], s["outcome"]) for s in body["sets"]] == [
        ("0001", "posted"),
        ("0002", "refused"),
        ("0003", "posted"),
    ]
    errors = body["sets"][1]["errors"]
    found = sorted((e["segment"], e["element"], e["rule"]) for e in errors)
    assert found == sorted(
        [
            ("DTM", 2, "date"),
            ("CLP", 4, "balance"),  # the first claim
            ("SVC", 3, "balance"),  # the second claim's line
            ("CLP", 4, "balance"),  # the second claim
            ("BPR", 2, "balance"),
        ]
    ), errors
    for error in errors:
        assert error["transaction_set"] == "0002" and error["position"] > 0 and error["set_position"] > 1
        assert error["field"] == f"segment[{error['position']}].{error['segment']}{error['element']:02d}"
    # The balanced sets posted; the account of set 1's claim is settled with insurance.
    assert len(body["remittances"]) == 2
    assert (await get_account(client, account))["insurance_pending"] == "0.00"

    kept = await get_received_file(client, body["received_file_id"])
    assert kept["outcome"] == "partially_posted" and kept["source"] == "http"
    assert len(kept["errors"]) == 5 and {e["transaction_set"] for e in kept["errors"]} == {"0002"}
    assert sorted(kept["remittance_ids"]) == sorted(r["id"] for r in body["remittances"])
    money = kept["money"]
    assert (D(money["deposit"]), D(money["posted"]), D(money["unmatched"]), D(money["refused"])) == (
        D("80.00") + D("999.00") + D("25.00"),
        D("80.00") - D("5.00"),
        D("30.00"),
        D("999.00"),
    )
    assert money_ties(money)
    listed = (
        await client.get("/v1/received-files", params={"outcome": "partially_posted"}, headers=ALL)
    ).json()
    assert body["received_file_id"] in [f["id"] for f in listed["items"]]


async def test_a_file_whose_every_set_is_broken_is_refused_with_every_error_and_kept(payments):
    _, client = payments
    pcn = unique("P")[:17]
    bad1 = make_835_set(unique("TRN"), [make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "15")])])
    bad2 = make_835_set(
        unique("TRN"), [make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")])], amount="81"
    )
    bad2[0][3] = "Z"  # BPR03 must be C or D
    resp = await post_835(client, make_835_file([bad1, bad2]))
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert "Nothing from this file was posted" in problem["detail"]
    assert [(e["field"].rsplit(".", 1)[-1], e["rule"]) for e in problem["errors"]] == [
        ("CLP04", "balance"),
        ("BPR03", "code_value"),
    ]
    assert "0001" in problem["errors"][0]["message"] and "0002" in problem["errors"][1]["message"]
    kept = await get_received_file(client, resp.headers["location"].rsplit("/", 1)[-1])
    assert kept["outcome"] == "refused" and [s["outcome"] for s in kept["sets"]] == ["refused"] * 2
    assert money_ties(kept["money"])
    raw = f"/v1/received-files/{kept['id']}/x12"
    assert (await client.get(raw, headers=token("payments:read"))).status_code == 403
    assert (await client.get(raw, headers=token("remittances:raw"))).text == make_835_file([bad1, bad2])


async def test_an_envelope_error_refuses_the_whole_file_and_keeps_it(payments):
    _, client = payments
    text = make_835(unique("TRN"), [make_clp(unique("P")[:17], "1", "10", "10")])
    broken = text.replace("GE*1*", "GE*2*")  # GE01 counts the group's transaction sets
    resp = await post_835(client, broken)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"].endswith("GE01")
    kept = await get_received_file(client, resp.headers["location"].rsplit("/", 1)[-1])
    assert kept["outcome"] == "refused" and kept["sets"] == [] and kept["errors"][0]["rule"] == "envelope"


async def test_a_repair_posts_the_corrected_set_once_and_links_to_the_original(payments, producer):
    _, client = payments
    pcn, account = await claim_for(client, producer, "100.00")
    pcn_bad, account_bad = await claim_for(client, producer, "100.00")
    other = unique("O")[:17]
    text, traces = three_sets(pcn, pcn_bad, other)
    first = await post_835(client, text)
    assert first.status_code == 207
    original = first.json()["received_file_id"]

    # The same three sets (same trace numbers), the second corrected.
    fixed_sets, _ = three_sets(pcn, pcn_bad, other, broken=False, traces=traces)
    assert_balanced(fixed_sets)
    repair = await client.post(
        f"/v1/received-files/{original}/repair",
        content=fixed_sets,
        headers={**ALL, "Content-Type": "application/edi-x12"},
    )
    assert repair.status_code == 201, repair.text
    assert [s["outcome"] for s in repair.json()["sets"]] == ["duplicate", "posted", "duplicate"]
    repaired = await get_received_file(client, repair.json()["received_file_id"])
    assert repaired["repair_of"] == original
    before = await get_received_file(client, original)
    assert before["repairs"] == [repaired["id"]] and before["outcome"] == "repaired"
    assert [s["outcome"] for s in before["sets"]] == ["posted", "repaired", "posted"]
    assert money_ties(before["money"]) and money_ties(repaired["money"])
    # Each claim paid once.
    for acct in (account, account_bad):
        ledger = await get_ledger(client, acct)
        assert [e["entry_type"] for e in ledger["entries"]].count("insurance_payment") == 1
    assert (await get_account(client, account_bad))["patient_due"] == "30.00"
    missing = await client.post(
        "/v1/received-files/00000000-0000-0000-0000-000000000000/repair",
        content=fixed_sets,
        headers={**ALL, "Content-Type": "application/edi-x12"},
    )
    assert missing.status_code == 404


async def test_the_file_is_kept_before_anything_acts_on_it_so_a_crash_loses_nothing(
    payments, producer, admin, monkeypatch
):
    from services.payments.postings import usecases as postings
    from services.payments.receipts import workers

    app, client = payments
    pcn, account = await claim_for(client, producer, "45.00")
    text = make_835(unique("TRN"), [make_clp(pcn, "1", "45", "45")])

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died mid-posting")

    monkeypatch.setattr(postings, "post_claim", crash)
    # The crash reaches the client as a 500 problem with no detail (shared.problems' catch-all);
    # what matters is that the file was kept before the posting died.
    died = await post_835(client, text)
    assert died.status_code == 500
    assert died.json()["type"].endswith("/internal-error")
    assert "mid-posting" not in died.text
    row = await admin.fetchrow("SELECT id, outcome FROM payments.received_files WHERE x12 = $1", text)
    assert row is not None and row["outcome"] == "received"
    assert (await get_account(client, account))["insurance_pending"] == "45.00"

    monkeypatch.undo()
    await workers.retry_unprocessed(app, older_than_seconds=0)
    kept = await get_received_file(client, str(row["id"]))
    assert kept["outcome"] == "posted"
    assert (await get_account(client, account))["balance"] == "0.00"


async def test_a_kafka_poll_keeps_every_835_posts_good_sets_and_dead_letters_only_refused_files(
    settings, admin
):
    """`remittance.received`: a file with one broken set posts its good sets (not
    dead-lettered); a file refused whole is kept with its errors and dead-lettered as
    before; a good file posts. All three are kept as received files."""
    p = unique("K")[:10]
    good = make_835(f"T{p}1", [make_clp(f"{p}A", "1", "30", "30")])
    mixed = make_835_file(
        [
            make_835_set(f"T{p}2", [make_clp(f"{p}B", "1", "20", "20")]),
            make_835_set(f"T{p}3", [make_clp(f"{p}C", "1", "100", "80", "15", [("PR", "1", "15")])]),
        ]
    )
    refused = make_835(f"T{p}4", [make_clp(f"{p}D", "1", "100", "80", "15", [("PR", "1", "15")])])
    events = [
        new_event(
            RemittanceReceived(
                trace_number=f"T{p}{n}", payer_id="SBX001", x12_835=text, received_at="2026-01-10T00:00:00Z"
            ),
            source="/partners/payer",
        )
        for n, text in ((1, good), (2, mixed), (4, refused))
    ]
    db = Database(service_database_url("payments", settings), "payments", pool_size=2)
    try:
        consumer, dlq = make_consumer(db, dict(SERVICE.handlers))
        await consumer.process(records_of(events, encoder=encode_signed))
    finally:
        await db.dispose()
    (parked,) = dlq.parked
    assert dlq_headers(parked)["dlq_error"].startswith("handler: invalid 835")
    assert "claim does not balance" in dlq_headers(parked)["dlq_error"]
    kept = await admin.fetch(
        "SELECT event_id, source, outcome, jsonb_array_length(errors) AS errors FROM payments.received_files "
        "WHERE event_id = ANY($1::uuid[])",
        [e.id for e in events],
    )
    by_event = {r["event_id"]: (r["source"], r["outcome"], r["errors"]) for r in kept}
    assert by_event == {
        events[0].id: ("kafka", "posted", 0),
        events[1].id: ("kafka", "partially_posted", 1),
        events[2].id: ("kafka", "refused", 1),
    }
    traces = await admin.fetch(
        "SELECT trace_number FROM payments.remittances WHERE trace_number LIKE $1 ORDER BY 1", f"T{p}%"
    )
    assert [r["trace_number"] for r in traces] == [f"T{p}1", f"T{p}2"]


# --- item 3: an unknown payer waits for staff, then posts


async def test_an_835_from_an_unknown_payer_waits_for_the_payer_and_posts_when_registered(payments, producer):
    _, client = payments
    payer = unique("NEWPAYER")[:24]
    pcn, account = await claim_for(client, producer, "120.00", payer=payer)
    n104, ref, originator = unique("N")[:14], unique("R")[:14], unique("9")[:10]
    text = make_835(
        unique("TRN"),
        [make_clp(pcn, "1", "120", "100", "20", [("PR", "3", "20")])],
        payer_name="NEW HEALTH PLAN OF SOMEWHERE",
        payer_n104=n104,
        payer_ref=ref,
        trace_originator=originator,
    )
    assert_balanced(text)
    resp = await post_835(client, text)
    assert resp.status_code == 202, resp.text
    (waiting,) = resp.json()["sets"]
    assert waiting["outcome"] == "payer_needed"

    queue = (await client.get("/v1/payer-needed", headers=ALL)).json()["items"]
    (item,) = [q for q in queue if q["id"] == waiting["id"]]
    assert item["payer_name"] == "NEW HEALTH PLAN OF SOMEWHERE"
    assert item["payer_identifiers"] == [
        {"qualifier": "N104", "value": n104},
        {"qualifier": "REF*2U", "value": ref},
        {"qualifier": "TRN03", "value": originator},
    ]
    assert D(item["amount"]) == D("100.00")
    assert (await get_account(client, account))["insurance_pending"] == "120.00"

    mapped = await put_payer(client, payer, "New Health Plan", [ref])
    assert mapped.status_code == 200, mapped.text
    (released,) = mapped.json()["released"]
    assert released["id"] == waiting["id"] and released["outcome"] == "posted"
    view = await get_account(client, account)
    assert (view["insurance_pending"], view["patient_due"]) == ("0.00", "20.00")
    queue = (await client.get("/v1/payer-needed", headers=ALL)).json()["items"]
    assert waiting["id"] not in [q["id"] for q in queue]
    kept = await get_received_file(client, resp.json()["received_file_id"])
    assert kept["outcome"] == "posted" and money_ties(kept["money"])
    assert kept["sets"][0]["payer_id"] == payer


async def test_replacing_undoes_the_originals_plb_on_its_claim_and_refuses_a_forward_balance(
    payments, producer, admin
):
    """A PLB WO naming a claim (PLB03-2 = its CLP07) wrote on that claim's ledger item; the
    replacement undoes it with the claim postings, so the corrected file's same PLB counts
    once. A PLB FB moved money to a later remittance (a forward balance): such an original is
    not replaced here (409), nothing changes."""
    _, client = payments
    pcn, account = await claim_for(client, producer, "100.00")
    trace = unique("TRN")
    plb = make_plb("WO", "ICN-W", "10")
    first = make_835(
        trace, [make_clp(pcn, "1", "100", "80", "20", [("PR", "1", "20")], pccn="ICN-W")], plb=plb
    )
    second = make_835(
        trace, [make_clp(pcn, "1", "100", "90", "10", [("PR", "1", "10")], pccn="ICN-W")], plb=plb
    )
    assert (await post_835(client, first)).status_code == 201
    held = await post_835(client, second)
    (review,) = (await get_received_file(client, held.headers["location"].rsplit("/", 1)[-1]))["sets"]
    done = await client.post(
        f"/v1/remittance-reviews/{review['id']}/resolve",
        json={"action": "replace", "reason": "corrected"},
        headers=ADMIN,
    )
    assert done.status_code == 200, done.text
    plb_rows = await admin.fetch(
        "SELECT amount FROM payments.ledger_entries WHERE account_id = $1 "
        "AND provider_adjustment_id IS NOT NULL ORDER BY id",
        account,
    )
    assert [r["amount"] for r in plb_rows] == [D("10.00"), D("-10.00"), D("10.00")]

    pcn2, account2 = await claim_for(client, producer, "100.00")
    trace2 = unique("TRN")
    fb = make_plb("FB", unique("FB")[:12], "5")
    forward = make_835(trace2, [make_clp(pcn2, "1", "100", "80", "20", [("PR", "1", "20")])], plb=fb)
    corrected = make_835(trace2, [make_clp(pcn2, "1", "100", "90", "10", [("PR", "1", "10")])], plb=fb)
    assert (await post_835(client, forward)).status_code == 201
    held = await post_835(client, corrected)
    (review,) = (await get_received_file(client, held.headers["location"].rsplit("/", 1)[-1]))["sets"]
    refused = await client.post(
        f"/v1/remittance-reviews/{review['id']}/resolve",
        json={"action": "replace", "reason": "corrected"},
        headers=ADMIN,
    )
    assert refused.status_code == 409 and refused.json()["type"].endswith("not-replaceable")
    assert (await get_account(client, account2))["patient_due"] == "20.00"
    still = (await client.get(f"/v1/remittance-reviews/{review['id']}", headers=ALL)).json()
    assert still["outcome"] == "conflict"
