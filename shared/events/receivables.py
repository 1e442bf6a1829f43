"""Payloads of the events about insurance A/R that payments and claims keep in agreement (the
rule they share is `shared.receivables`). Kept apart from `payloads.py`, which is at its size."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events.payloads import Id, Money, Payload


class DenialResolved(Payload):
    """A denied balance left insurance A/R in payments: written off (a second person approved)
    or billed to the patient (group PR only); claims closes the claim out of its A/R."""

    claim_id: UUID
    account_id: Id
    payer_id: Id
    resolution: Literal["written_off", "billed_patient"]
    amount: Money = Field(description="What left insurance A/R (positive).")
    resolved_at: datetime
    approval_id: UUID | None = Field(default=None, description="The approval of a write-off.")
