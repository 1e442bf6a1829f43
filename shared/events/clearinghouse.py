"""Payloads of what the clearinghouse gateway reads from X12 files: file and group
acknowledgments (TA1, 999 005010X231A1) and claim status answers (277CA 005010X214 and the
277 005010X212 answering a 276).

The codes are the X12 external code lists' (Claim Status Category Codes 507, Claim Status
Codes 508, Entity Identifier Codes 98; TA105 and IK3/IK4/IK5/AK9 codes of the 999 guide),
each with its published description so a billing specialist reads the answer without a
code book. Bad data an acknowledgment may echo (IK404) is never copied: it can be PHI.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events.payloads import Id, Money, Payload


class AckError(Payload):
    """One error a 999 located (loop 2100 IK3, loop 2110 IK4) or a TA1 note (TA105)."""

    source: Literal["TA1", "999"]
    segment_id: str | None = Field(default=None, max_length=3, description="IK301: the segment in error.")
    segment_position: int | None = Field(default=None, ge=1, description="IK302: its position in the set.")
    loop_id: str | None = Field(default=None, max_length=6, description="IK303: the loop it belongs to.")
    element_position: int | None = Field(default=None, ge=1, description="IK401-1: the element in error.")
    component_position: int | None = Field(default=None, ge=1, description="IK401-2: its component.")
    element_reference: str | None = Field(default=None, max_length=4, description="IK402: element number.")
    error_code: str = Field(min_length=1, max_length=3, description="IK304, IK403 or TA105.")
    description: str = Field(max_length=300)


class SetAck(Payload):
    """One transaction set's answer in a 999 (loop 2000: AK2, IK5) and the claims it carried."""

    control_number: str = Field(min_length=1, max_length=9, description="AK202: our ST02.")
    code: Literal["A", "E", "M", "R", "W", "X"] = Field(description="IK501.")
    claim_ids: list[UUID] = Field(default_factory=list)
    errors: list[AckError] = Field(default_factory=list)


class SubmissionFileAcknowledged(Payload):
    """A clearinghouse answered one of our submission files: a TA1 for its interchange, or a
    999 for one of its functional groups."""

    file_id: UUID
    partner_id: Id
    file_name: str = Field(min_length=1, max_length=200)
    interchange_control_number: str = Field(min_length=9, max_length=9, description="ISA13 / TA101.")
    group_control_number: str | None = Field(default=None, max_length=9, description="GS06 / AK102.")
    kind: Literal["TA1", "999"]
    code: str = Field(min_length=1, max_length=1, description="TA104 (A/E/R) or AK901 (A/E/P/R).")
    note_code: str | None = Field(default=None, max_length=3, description="TA105.")
    description: str = Field(max_length=300)
    sets_included: int | None = Field(default=None, ge=0, description="AK902.")
    sets_received: int | None = Field(default=None, ge=0, description="AK903.")
    sets_accepted: int | None = Field(default=None, ge=0, description="AK904.")
    sets: list[SetAck] = Field(default_factory=list)
    received_at: datetime


class ClaimStatusCode(Payload):
    """One STC composite (C043): category, status and entity, with their descriptions."""

    category_code: str = Field(min_length=1, max_length=3, description="C043-1 (code list 507).")
    status_code: str | None = Field(default=None, max_length=5, description="C043-2 (code list 508).")
    entity_code: str | None = Field(default=None, max_length=3, description="C043-3 (code list 98).")
    category_description: str = Field(max_length=300)
    status_description: str | None = Field(default=None, max_length=500)
    free_text: str | None = Field(default=None, max_length=264, description="STC12.")


class ClaimAcknowledged(Payload):
    """The clearinghouse/payer accepted the claim for adjudication (277CA accepted)."""

    claim_id: UUID | None = None
    patient_control_number: str = Field(min_length=1, max_length=17)
    payer_claim_control_number: str | None = None
    acknowledged_at: datetime
    payer_id: Id | None = None
    source: str | None = Field(default=None, max_length=8, description="What said so: 277CA.")
    file_id: UUID | None = Field(default=None, description="The gateway's received file it came in.")
    statuses: list[ClaimStatusCode] = Field(default_factory=list, description="The 277CA STC composites.")


class RejectionReason(Payload):
    """Why a claim was rejected. `code` is compact (`A7:562:85`, `999:IK304-8`, `TA1:008`);
    the optional fields locate it (source file kind, STC codes, 999 segment and element)."""

    code: str = Field(min_length=1, max_length=30)
    message: str = Field(max_length=500)
    source: Literal["TA1", "999", "277CA", "277", "gateway", "payer"] | None = None
    category_code: str | None = Field(default=None, max_length=3)
    status_code: str | None = Field(default=None, max_length=5)
    entity_code: str | None = Field(default=None, max_length=3)
    segment_id: str | None = Field(default=None, max_length=3)
    segment_position: int | None = Field(default=None, ge=1)
    loop_id: str | None = Field(default=None, max_length=6)
    element_position: int | None = Field(default=None, ge=1)
    error_code: str | None = Field(default=None, max_length=3)


class ClaimRejected(Payload):
    """The claim failed front-end edits (277CA rejected); it must be corrected."""

    claim_id: UUID | None = None
    patient_control_number: str = Field(min_length=1, max_length=17)
    reasons: list[RejectionReason] = Field(min_length=1)
    rejected_at: datetime
    payer_id: Id | None = None


class RemittanceReceived(Payload):
    """An 835 remittance advice arrived; the trace number (TRN02) identifies it."""

    trace_number: str = Field(min_length=1, max_length=50)
    payer_id: Id
    x12_835: str = Field(
        min_length=1, description="One 005010X221A1 835 payment: a set in its file's own ISA/GS."
    )
    received_at: datetime
    file_id: UUID | None = Field(default=None, description="The gateway's received file it came in.")
    partner_id: Id | None = Field(default=None, description="The clearinghouse whose mailbox it came from.")


class LineStatus(Payload):
    """A service line's status (277 loop 2220D/E: SVC, STC)."""

    procedure_code: str | None = Field(default=None, max_length=48, description="SVC01-2.")
    charge: Money | None = Field(default=None, description="SVC02.")
    paid: Money | None = Field(default=None, description="SVC03.")
    statuses: list[ClaimStatusCode] = Field(default_factory=list)


class ClaimStatusReported(Payload):
    """A payer said where a claim stands: a 277 answering our 276 (or unsolicited).
    Money moves only with an 835; this records the answer and may move the claim's status."""

    claim_id: UUID | None = None
    patient_control_number: str = Field(min_length=1, max_length=38, description="REF*EJ / TRN02.")
    payer_id: Id | None = None
    payer_claim_control_number: str | None = Field(default=None, max_length=50, description="REF*1K.")
    inquiry_id: UUID | None = None
    trace_number: str | None = Field(default=None, max_length=50, description="2200D/E TRN02.")
    source: Literal["277", "277CA"] = "277"
    statuses: list[ClaimStatusCode] = Field(min_length=1)
    effective_date: date | None = Field(default=None, description="STC02.")
    total_charge: Money | None = Field(default=None, description="STC04.")
    paid_amount: Money | None = Field(default=None, description="STC05.")
    adjudicated_on: date | None = Field(default=None, description="STC06.")
    check_number: str | None = Field(default=None, max_length=16, description="STC09.")
    lines: list[LineStatus] = Field(default_factory=list)
    received_at: datetime
