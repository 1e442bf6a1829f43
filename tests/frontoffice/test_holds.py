"""account_hold.* events: one builder for tickets (disputes) and applications (assistance)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.frontoffice.holds import domain as holds

AT = datetime(2027, 1, 10, tzinfo=UTC)


def test_a_dispute_holds_statements_and_collections_and_an_application_collections_only():
    ids = {"hold_id": uuid.uuid4(), "account_id": "ACC-1", "patient_id": "P-1", "source_id": uuid.uuid4()}
    dispute = holds.placed("dispute", **ids, at=AT)
    assistance = holds.placed("financial_assistance", **ids, at=AT)
    assert (dispute.holds_statements, dispute.holds_collections) == (True, True)
    assert (assistance.holds_statements, assistance.holds_collections) == (False, True)
    assert (assistance.reason, assistance.placed_at, assistance.patient_id) == (
        "financial_assistance",
        AT,
        "P-1",
    )


def test_a_release_names_the_reason_and_outcome():
    ended = holds.released(
        "dispute", hold_id=uuid.uuid4(), account_id="ACC-1", source_id=uuid.uuid4(), outcome="upheld", at=AT
    )
    assert (ended.reason, ended.outcome, ended.released_at) == ("dispute", "upheld", AT)
