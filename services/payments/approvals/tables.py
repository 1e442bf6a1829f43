"""The table the approvals sub-domain owns."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class Approval(SQLModel, table=True):
    """A command waiting for a second person. `command` is what runs on approval (the
    requesting sub-domain's own JSON), `summary` what the approver reads to decide (amounts
    and ids, no PHI); `result` what running it produced. Decided rows never change again."""

    __tablename__ = "approvals"

    id: UUID = Field(primary_key=True)
    kind: str
    subject: str  # what it is about, e.g. the account id
    command: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    summary: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    reason: str
    status: str = "pending"  # pending | approved | rejected
    requested_by: str
    requested_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    decision_note: str | None = None
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
