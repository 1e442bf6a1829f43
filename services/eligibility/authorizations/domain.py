"""Authorization rules without I/O: the visits a submitted claim bills, and the thresholds
an authorization about to lapse has reached."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from shared.events.catalogue import ClaimSubmitted

NumberKey = tuple[str, str, str]  # (payer id, patient id, authorization number)
Visit = tuple[uuid.UUID, date]  # (authorization id, date of service)


def visits_left(visits_allowed: int | None, visits_used: int) -> int | None:
    """None when the authorization does not count visits."""
    return None if visits_allowed is None else visits_allowed - visits_used


def thresholds_reached(row: Any, *, days: int, visits: int) -> list[str]:
    """'days' when the end date is `days` away or less, 'visits' when `visits` or fewer remain."""
    reached = []
    if row["days_left"] <= days:
        reached.append("days")
    left = visits_left(row["visits_allowed"], row["visits_used"])
    if left is not None and left <= visits:
        reached.append("visits")
    return reached


def numbers_of(claim: ClaimSubmitted) -> set[NumberKey]:
    """The authorization numbers the claim was sent with (837P REF*G1), keyed for lookup."""
    return {
        (claim.payer_id, claim.patient_id, line.prior_authorization_number)
        for line in claim.lines
        if line.prior_authorization_number
    }


def chain_of(claim: ClaimSubmitted) -> uuid.UUID:
    """The first claim of the claim's chain: the visit a claim and its corrections all bill."""
    return claim.first_claim_id or claim.claim_id


def billed_visits(claim: ClaimSubmitted, on_file: Mapping[NumberKey, uuid.UUID]) -> set[Visit]:
    """The authorized visits the claim bills: one per authorization on file (this payer's,
    this patient's) and date of service of its lines; none for a void, which bills nothing.
    A number not on file counts nowhere."""
    if claim.frequency_code == "8":
        return set()
    visits = set()
    for line in claim.lines:
        key = (claim.payer_id, claim.patient_id, line.prior_authorization_number or "")
        if key in on_file:
            visits.add((on_file[key], line.date_of_service))
    return visits
