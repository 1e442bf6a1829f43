"""Claim status rules without I/O: the code lists a 277 answer is told in, what a read 277
claim status is, and when an inquiry is sent again.

The code lists are the X12 external code lists' (Claim Status Category Codes, 507; Claim
Status Codes, 508; Entity Identifier Codes, 98), reduced to the codes the sandbox writes and
the public samples carry. A code not on file reads "description not on file": the code itself
is always kept, so nothing is lost, only not spelled out. (When the gateway's shared code
files under services/gateway/data/ land, these tables give way to them.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

NOT_ON_FILE = "description not on file"

CATEGORIES: dict[str, str] = {
    "A0": "Acknowledgement/Forwarded",
    "A1": "Acknowledgement/Receipt",
    "A2": "Acknowledgement/Acceptance into adjudication system",
    "A3": "Acknowledgement/Returned as unprocessable claim",
    "A4": "Acknowledgement/Not Found",
    "A5": "Acknowledgement/Split Claim",
    "A6": "Acknowledgement/Rejected for Missing Information",
    "A7": "Acknowledgement/Rejected for Invalid Information",
    "A8": "Acknowledgement/Rejected for relational field in error",
    "D0": "Data Search Unsuccessful",
    "E0": "Response not possible - error on submitted request data",
    "E1": "Response not possible - System Status",
    "E2": "Information Holder is not responding; resubmit at a later time",
    "E3": "Correction required - relational fields in error",
    "E4": "Trading partner agreement specific requirement not met",
    "F0": "Finalized",
    "F1": "Finalized/Payment",
    "F2": "Finalized/Denial",
    "F3": "Finalized/Revised",
    "F4": "Finalized/Adjudication Complete - No payment forthcoming",
    "P0": "Pending: Adjudication/Details",
    "P1": "Pending/In Process",
    "P2": "Pending/Payer Review",
    "P3": "Pending/Provider Requested Information",
    "P4": "Pending/Patient Requested Information",
    "P5": "Pending/Payer Administrative/System hold",
}

STATUSES: dict[str, str] = {
    "0": "Cannot provide further status electronically.",
    "1": "For more detailed information, see remittance advice.",
    "3": "Claim has been adjudicated and is awaiting payment cycle.",
    "19": "Entity acknowledges receipt of claim/encounter.",
    "20": "Accepted for processing.",
    "21": "Missing or invalid information.",
    "35": "Claim/encounter not found.",
    "65": "Claim/line has been paid.",
    "88": "Entity not eligible for benefits for submitted dates of service.",
    "562": "Entity's National Provider Identifier (NPI)",
}

ENTITIES: dict[str, str] = {
    "41": "Submitter",
    "85": "Billing Provider",
    "IL": "Insured or Subscriber",
    "PR": "Payer",
    "QC": "Patient",
}

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
    return CATEGORIES.get(code.upper(), NOT_ON_FILE)


def status_description(code: str | None) -> str | None:
    return None if not code else STATUSES.get(code, NOT_ON_FILE)


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
