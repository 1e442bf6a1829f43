"""Claim status rules without I/O: the code lists a 277 answer is told in, what a read 277
claim status is, and when an inquiry is sent again.

The code lists are the X12 external code lists' (Claim Status Category Codes, 507; Claim
Status Codes, 508; Entity Identifier Codes, 98) the whole gateway reads from
services/gateway/data/ (acknowledgments.domain.describe). A code not on file reads
"description not on file": the code itself is always kept, so nothing is lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from services.gateway.acknowledgments.domain import describe as describe_code

NOT_ON_FILE = describe_code("507", None)


# How long after a failed real-time call (partner away, circuit open) an inquiry is tried
# again, and how many times before it is given up (the follow-up list still shows the claim).
RETRY_SECONDS = (60.0, 300.0, 1800.0, 7200.0)
MAX_ATTEMPTS = len(RETRY_SECONDS) + 1


@dataclass(frozen=True)
class Code:
    """One STC composite (C043): category, status, entity."""

    category: str
    status: str | None = None
    entity: str | None = None

    @property
    def compact(self) -> str:
        return ":".join(c for c in (self.category, self.status, self.entity) if c)


def category_description(code: str) -> str:
    return describe_code("507", code.upper())


def status_description(code: str | None) -> str | None:
    return None if not code else describe_code("508", code)


@dataclass
class LineAnswer:
    """A service line's status (loop 2220D/E: SVC and its STC)."""

    procedure_code: str | None
    charge: Decimal | None
    paid: Decimal | None
    codes: list[Code] = field(default_factory=list)


@dataclass
class ClaimAnswer:
    """One claim's status as a 277 (X212) states it (loop 2200D or 2200E and below)."""

    trace_number: str | None
    patient_control_number: str | None
    payer_claim_control_number: str | None
    codes: list[Code]
    effective_date: date | None
    total_charge: Decimal | None
    paid_amount: Decimal | None
    adjudicated_on: date | None
    check_date: date | None
    check_number: str | None
    free_text: str | None
    dependent: bool
    payer_id: str | None
    lines: list[LineAnswer] = field(default_factory=list)


def retry_at(now: datetime, attempts: int) -> datetime | None:
    """When to try an inquiry again after `attempts` failed calls, or None: given up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=RETRY_SECONDS[min(attempts, len(RETRY_SECONDS)) - 1])


def trace_number(inquiry_id: uuid.UUID) -> str:
    """Our 2200D/E TRN02: the inquiry's id, compact (the payer echoes it in the 277)."""
    return inquiry_id.hex.upper()
