"""The possible-duplicate queue's stuck-work probe (shared.stuckwork): 835 claims whose
adjudication was posted before wait for a person to decide (post, payer credit, dismiss)."""

from __future__ import annotations

from services.payments.duplicates import store
from shared.stuckwork import Probe

# A possible duplicate is a payer's money on no account, which may be owed back to the payer;
# like the other remittance queues, one that waits a day warns (STUCK_WORK_THRESHOLDS changes it).
PROBES = [
    Probe(
        "payments:possible-duplicates",
        store.open_duplicates,
        warn_count=None,
        warn_age_seconds=86400.0,
        unit="claims",
    )
]
