"""Opaque keyset cursors for lists ordered newest first by (created_at, id).

A cursor names the last row of a page; the next page is the rows before it in that order. It is
base64 so clients treat it as opaque, and it carries no patient data.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime


def encode(created_at: datetime, ident: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{ident}".encode()).decode()


def decode(value: str) -> tuple[datetime, uuid.UUID]:
    """(created_at, id) of a cursor made by encode(); ValueError for anything else, which the
    list route answers with a 422 naming `query.cursor`."""
    created, ident = base64.urlsafe_b64decode(value.encode()).decode().split("|")
    return datetime.fromisoformat(created), uuid.UUID(ident)
