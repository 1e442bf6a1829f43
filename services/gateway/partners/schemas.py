"""What GET /v1/partners shows of a partner: its configuration without any secret (only which
kind of secret it uses), and its mailbox state."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class MailboxState(BaseModel):
    last_poll_at: datetime | None = None
    last_poll_ok_at: datetime | None = None
    last_poll_error: str | None = None  # the failure kind (host_key, auth, unreachable, ...)
    last_error_at: datetime | None = None
    last_upload_at: datetime | None = None


class PartnerView(BaseModel):
    id: str
    name: str
    host: str
    port: int
    username: str
    auth: Literal["password", "key"]
    host_key_pinned: Literal["host_key", "known_hosts_file"]
    to_folder: str
    from_folder: str
    after_download: str
    archive_folder: str | None
    upload_mode: str
    file_names: dict[str, str]
    isa_sender_qualifier: str
    isa_sender_id: str
    isa_receiver_qualifier: str
    isa_receiver_id: str
    gs_sender_id: str
    gs_receiver_id: str
    usage_indicator: str
    ack_requested: bool
    receiver_ids: list[str]
    poll_seconds: float
    settle_seconds: float
    batch_max_claims: int
    batch_max_seconds: float
    claim_status_mode: str
    mailbox: MailboxState
