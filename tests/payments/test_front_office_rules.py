"""The pure rules behind payments' handling of the front office's events (no I/O): the highest
revision of a poll wins, the assistance discount rounds half up to the cent, a dispute holds
statements and collections whatever its event says, and a collections-only hold holds just the
steps toward the agency."""

from __future__ import annotations

import uuid
from decimal import Decimal

from services.payments.account_holds.domain import Held, keeps_from
from services.payments.assistance.domain import assistance_entries, discount
from shared.bulk import newest_per_key


def test_a_poll_keeps_the_highest_revision_per_account_whatever_the_order():
    rows = [
        {"account_id": "a", "revision": 3, "address": "new"},
        {"account_id": "b", "revision": 1, "address": "b1"},
        {"account_id": "a", "revision": 2, "address": "old"},
    ]
    kept = newest_per_key(rows, key="account_id", revision="revision")
    assert [(r["account_id"], r["revision"]) for r in kept] == [("a", 3), ("b", 1)]


def test_the_discount_is_half_up_to_the_cent_and_nothing_owed_is_nothing_off():
    assert discount(Decimal("100.01"), Decimal("50")) == Decimal("50.01")  # banker's rounding: 50.00
    assert discount(Decimal("123.45"), Decimal("37.50")) == Decimal("46.29")
    assert discount(Decimal("220.00"), Decimal("100")) == Decimal("220.00")
    assert discount(Decimal("0.00"), Decimal("100")) == Decimal("0.00")
    assert discount(Decimal("-15.00"), Decimal("100")) == Decimal("0.00")  # a credit is not discounted


def test_the_discount_spreads_oldest_first_and_names_the_application():
    application, old, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    rows = assistance_entries(
        "acct", Decimal("70.00"), [(old, Decimal("60.00")), (new, Decimal("40.01"))], application, "full"
    )
    assert [(r.item_id, r.amount, r.entry_type) for r in rows] == [
        (old, Decimal("-60.00"), "adjustment"),
        (new, Decimal("-10.00"), "adjustment"),
    ]
    assert {r.application_id for r in rows} == {application}


def test_a_dispute_holds_both_and_a_collections_hold_only_the_steps_toward_the_agency():
    assert keeps_from("dispute", False, False) == (True, True)
    assert keeps_from("financial_assistance", False, True) == (False, True)
    assert keeps_from("financing", True, False) == (True, True)
    held = Held(statements={"disputed"}, collections={"disputed", "applied"})
    assert [held.from_step("disputed", k) for k in ("statement", "final_notice", None)] == [True, True, True]
    assert [held.from_step("applied", k) for k in ("statement", "final_notice", "collections", None)] == [
        False,
        True,
        True,
        False,
    ]
