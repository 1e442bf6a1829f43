"""The scrubber's answer as the API shows it."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel


class Finding(BaseModel):
    edit: str
    severity: Literal["error", "warning"]
    field: str
    message: str


class ScrubResult(BaseModel):
    claim_id: uuid.UUID
    status: str
    clean: bool
    findings: list[Finding]
