"""Request and response models of received files (and of the held sets `holds` lists)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from services.payments.remittances.schemas import RemittanceSummary

X12_TYPES = ("application/edi-x12", "text/plain")
FileOutcome = Literal[
    "received", "posted", "partially_posted", "refused", "held", "duplicate", "dismissed", "repaired"
]


class X12ErrorOut(BaseModel):
    """One error, located as a 999 locates it (AK2/IK5 set, IK3 segment, IK4 element)."""

    transaction_set: str | None = Field(description="ST02 of the set (null: the interchange itself).")
    position: int | None = Field(description="The segment's position in the file (ISA = 1).")
    set_position: int | None = Field(description="The segment's position in its set (ST = 1), as IK302.")
    segment: str | None = Field(description="The segment id, as IK301.")
    element: int | None = Field(description="The element's position in the segment, as IK401.")
    rule: str = Field(
        description="envelope, segment_count, transaction_type, required_segment, unexpected_segment, "
        "required, code_value, number, decimals, date or balance."
    )
    message: str
    field: str = Field(description="The same place as a problem+json field, e.g. `segment[13].CLP04`.")


class DifferenceOut(BaseModel):
    """What differs from the remittance posted under the same payer and trace number."""

    element: str = Field(description="e.g. BPR02, BPR16, PLB, CLP04, CAS, SVC.")
    what: str
    position: int | None = Field(description="The segment's position in the new file.")
    claim: int | None = Field(description="Which claim, by its order in the set (1 = first).")
    field: str


class PayerIdentifier(BaseModel):
    qualifier: str = Field(
        description="Where the 835 carries it: N104 (loop 1000A), REF*2U (or EO, HI, NF), TRN03."
    )
    value: str


class SetOut(BaseModel):
    """One ST/SE transaction set of a received file and what became of it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    file_id: uuid.UUID | None = None
    index: int = Field(
        validation_alias=AliasChoices("set_index", "index"), description="0-based, in file order."
    )
    control_number: str = Field(description="ST02.")
    trace_number: str | None = Field(description="TRN02.")
    outcome: str = Field(
        description="posted, duplicate, refused, payer_needed, conflict (held for review), dismissed, "
        "replaced (posted, then reversed for a replacement) or repaired (posted from a repair file)."
    )
    amount: Decimal | None = Field(description="BPR02 signed by BPR03; null when it could not be read.")
    payer_id: str | None
    payer_name: str | None = Field(description="N1*PR N102.")
    payer_identifiers: list[PayerIdentifier]
    remittance_id: uuid.UUID | None = Field(
        description="posted: the remittance it made; duplicate: the one posted before; conflict: the one it "
        "conflicts with; repaired: the one its repair made."
    )
    duplicate_of: uuid.UUID | None = Field(default=None, description="The held set this one repeats.")
    errors: list[X12ErrorOut]
    differences: list[DifferenceOut]
    resolution: str | None = None
    resolution_reason: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    received_at: datetime | None = None


class FileMoney(BaseModel):
    """Where each cent of the file's sets (BPR02) is. deposit = posted + unmatched +
    possible_duplicate + payer_credit + no_money + duplicate + payer_needed + conflict + refused
    + dismissed + replaced + repaired, to the cent."""

    deposit: Decimal
    posted: Decimal = Field(description="Claim payments posted, less provider-level adjustments.")
    unmatched: Decimal = Field(description="Claim payments parked in the unmatched queue.")
    possible_duplicate: Decimal = Field(
        default=Decimal("0.00"),
        description="Parked: possible duplicate. Claim payments of adjudications posted before (payer, "
        "CLP01, CLP07), waiting in `/v1/possible-duplicates`.",
    )
    payer_credit: Decimal = Field(
        default=Decimal("0.00"),
        description="Possible duplicates the payer really paid twice: owed back to the payer (a payer credit "
        "balance, offset by a later 835 or refunded), never a second payment on the claim.",
    )
    no_money: Decimal = Field(
        default=Decimal("0.00"),
        description="Possible duplicates dismissed: the payer sent the 835 twice, the money once.",
    )
    duplicate: Decimal = Field(description="Sets posted before (same payer, trace and content).")
    payer_needed: Decimal
    conflict: Decimal
    refused: Decimal
    dismissed: Decimal
    replaced: Decimal
    repaired: Decimal
    sets_without_amount: int = Field(description="Sets whose BPR02 could not be read (refused).")
    balanced: bool


class ReceivedFileRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sha256: str
    source: str = Field(description="http (an upload or a repair) or kafka (remittance.received).")
    actor: str
    received_at: datetime
    outcome: FileOutcome
    counts: dict[str, int] = Field(description="Sets per outcome.")
    repair_of: uuid.UUID | None
    processed_at: datetime | None


class ReceivedFile(ReceivedFileRef):
    errors: list[X12ErrorOut] = Field(description="Every error: the envelope's, then each set's.")
    sets: list[SetOut]
    remittance_ids: list[uuid.UUID] = Field(description="The remittances its sets posted.")
    repairs: list[uuid.UUID] = Field(description="Received files that repair this one.")
    money: FileMoney


class Received(BaseModel):
    """The answer to an upload: the received file, the remittances its sets posted (or had
    posted before: `duplicate: true`), and every set's outcome."""

    received_file_id: uuid.UUID
    outcome: FileOutcome
    remittances: list[RemittanceSummary]
    sets: list[SetOut]
