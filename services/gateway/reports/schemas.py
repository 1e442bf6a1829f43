"""The mailbox report's answer."""

from __future__ import annotations

from pydantic import BaseModel


class FilesUp(BaseModel):
    partner_id: str
    kind: str
    state: str
    files: int
    claims: int


class FilesDown(BaseModel):
    partner_id: str | None
    kind: str
    state: str
    files: int


class ClaimsCount(BaseModel):
    partner_id: str | None
    state: str
    ack_state: str
    claims: int


class MailboxReport(BaseModel):
    files_up: list[FilesUp]
    files_down: list[FilesDown]
    claims: list[ClaimsCount]
