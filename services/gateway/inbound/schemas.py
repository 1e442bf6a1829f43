"""Request and response models of received files and the review queue. No model carries a
file's content: that is GET /v1/files/{id}/x12, behind its own scope."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

X12_TYPES = ("application/edi-x12", "text/plain")
FileState = Literal["received", "processed", "review", "duplicate"]
FileKind = Literal["TA1", "999", "277CA", "277", "835", "271", "unknown"]
ReviewReason = Literal[
    "unknown_type", "unreadable", "envelope", "unmatched_ack", "unsupported", "not_ours", "too_large"
]


class FileError(BaseModel):
    """An error or warning, located (segment, position, element), never the data."""

    severity: Literal["error", "warning"] = "error"
    rule: str
    message: str
    segment: str | None = None
    position: int | None = Field(default=None, description="The segment's position in the file (ISA = 1).")
    element: int | None = None


class ReviewItem(BaseModel):
    """A file nobody could act on, and why; open until reprocessed or dismissed."""

    id: uuid.UUID
    file_id: uuid.UUID
    reason: ReviewReason
    detail: dict[str, Any] = Field(description="Where and which rule, never the data.")
    created_at: datetime
    resolution: Literal["reprocessed", "dismissed"] | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None
    partner_id: str | None = None
    remote_name: str | None = None
    kind: FileKind | None = None


class ReceivedFileRef(BaseModel):
    """A received file in a list."""

    id: uuid.UUID
    partner_id: str | None
    source: Literal["mailbox", "upload", "realtime"]
    remote_name: str
    sha256: str
    received_at: datetime
    actor: str
    kind: FileKind | None
    state: FileState
    processed_at: datetime | None


class ReceivedFile(ReceivedFileRef):
    """A received file: what it is, where it stands, what was wrong, what it counted."""

    size: int = Field(description="Characters as kept.")
    errors: list[FileError]
    counts: dict[str, int]
    reviews: list[ReviewItem]


class Uploaded(ReceivedFile):
    new: bool = Field(description="False: this name and content were kept before (processed once).")


class Resolution(BaseModel):
    note: str | None = Field(default=None, max_length=500, description="Why (no PHI).")
