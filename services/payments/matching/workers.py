"""The matching queue's stuck-work probe (shared.stuckwork): 835 claims parked as unmatched
(no claim with their patient control number) wait for a person to match them by hand."""

from __future__ import annotations

from services.payments.postings import store as postings
from shared.stuckwork import Probe

# An unmatched claim is money received and not on any account. Most match by hand within the
# working day; one that waits a day (STUCK_WORK_THRESHOLDS changes it) warns.
PROBES = [
    Probe(
        "payments:unmatched",
        postings.open_unmatched,
        warn_count=None,
        warn_age_seconds=86400.0,
        unit="claims",
    )
]
