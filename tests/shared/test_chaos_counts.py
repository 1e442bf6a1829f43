"""The counting rules of `make chaos` (bench/chaos_counts.py) on crafted runs: each kind of
loss and double is found, and what is legitimate (a secondary claim, a reversal followed by its
correction, the same delivery re-sent to the provider) is not counted. No servers needed."""

from __future__ import annotations

from typing import Any

from bench.chaos_counts import Snapshot, count, markdown


def make_claim(n: int, *, status: str = "paid", encounter: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"claim-{n}",
        "encounter_id": encounter if encounter is not None else f"enc-{n}",
        "patient_control_number": f"PCN{n}",
        "status": status,
        "primary_claim_id": None,
        "original_claim_id": None,
        "patient_id": f"pat-{n}",
        **extra,
    }


def make_posting(pid: str, n: int, *, status: str = "1", reverses: str | None = None) -> dict[str, Any]:
    return {
        "id": pid,
        "claim_id": f"claim-{n}",
        "patient_control_number": f"PCN{n}",
        "status_code": status,
        "reverses_posting_id": reverses,
        "account_id": f"pat-{n}",
    }


def make_clean_run(n: int = 3) -> Snapshot:
    """n encounters, each a paid claim posted once, its patient told by email once."""
    snap = Snapshot(sent=[f"enc-{i}" for i in range(n)])
    for i in range(n):
        snap.claims.append(make_claim(i))
        snap.sandbox_payments.append({"pcn": f"PCN{i}", "status": "1", "trace": "T1"})
        snap.postings.append(make_posting(f"post-{i}", i))
        snap.events[f"ev-{i}"] = ("payment.posted.v1", f"claim-{i}")
        snap.deliveries.append(
            {
                "id": f"del-{i}",
                "recipient_id": f"pat-{i}",
                "channel": "email",
                "template": "insurance_processed",
                "cause_event_id": f"ev-{i}",
                "status": "sent",
            }
        )
        snap.sink.append({"channel": "email", "address": f"pat-{i}@x", "delivery_id": f"del-{i}"})
    return snap


def test_a_clean_run_counts_nothing_and_needs_no_one() -> None:
    row = count("none", make_clean_run())
    assert (row.sent, row.claims, row.duplicates, row.lost, row.double_postings) == (3, 3, 0, 0, 0)
    assert row.double_notifications == 0
    assert row.manual == [] and row.ok
    assert "| none | 3 | 3 | 0 | 0 | 0 | 0 | 0 |" in markdown([row])


def test_a_second_original_claim_for_one_encounter_is_a_duplicate_a_secondary_is_not() -> None:
    snap = make_clean_run()
    snap.claims.append(make_claim(10, encounter="enc-0"))
    snap.claims.append(make_claim(11, encounter="", primary_claim_id="claim-0"))
    assert count("x", snap).duplicates == 1


def test_each_way_of_losing_work_is_counted() -> None:
    snap = make_clean_run(5)
    snap.claims = [c for c in snap.claims if c["encounter_id"] != "enc-4"]  # no claim
    snap.postings = [p for p in snap.postings if p["claim_id"] != "claim-3"]  # paid, never posted
    snap.claims[2]["status"] = "submitted"  # posted in payments, waiting in claims
    snap.deliveries[1]["status"] = "pending"  # never told
    row = count("x", snap)
    assert row.lost_detail == {
        "no_claim": 1,
        "paid_not_posted": 1,
        "posted_not_in_claims": 1,
        "patient_not_told": 1,
    }
    assert row.lost == 4 and not row.ok


def test_two_live_postings_for_one_claim_double_but_a_reversal_and_its_correction_do_not() -> None:
    snap = make_clean_run()
    snap.postings.append(make_posting("post-0-again", 0))  # the same adjudication posted twice
    snap.postings.append(make_posting("post-1-reversal", 1, status="22", reverses="post-1"))
    snap.postings.append(make_posting("post-1-corrected", 1))
    assert count("x", snap).double_postings == 1


def test_a_second_message_for_one_business_event_is_double_the_same_delivery_resent_is_too() -> None:
    snap = make_clean_run()
    # A second posting's notice: its own event and delivery, the same claim and recipient.
    snap.events["ev-0b"] = ("payment.posted.v1", "claim-0")
    snap.deliveries.append({**snap.deliveries[0], "id": "del-0b", "cause_event_id": "ev-0b"})
    snap.sink.append({"channel": "email", "address": "pat-0@x", "delivery_id": "del-0b"})
    # The same delivery arriving twice at the provider (a new Message-ID per try).
    snap.sink.append({"channel": "email", "address": "pat-1@x", "delivery_id": "del-1"})
    # Another run's message at the sink is not ours to count.
    snap.sink.append({"channel": "email", "address": "pat-1@x", "delivery_id": "someone-elses"})
    assert count("x", snap).double_notifications == 2


def test_parked_work_or_no_convergence_needs_manual_action() -> None:
    snap = make_clean_run()
    snap.dead_letters, snap.unmatched, snap.possible_duplicates, snap.converged = 2, 1, 1, False
    row = count("x", snap)
    assert row.manual == [
        "2 dead letters",
        "1 unmatched payments",
        "1 possible duplicate payments",
        "not converged",
    ]
    assert "not converged" in markdown([row]) and not row.ok
