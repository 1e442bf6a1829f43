"""Response models of statements and the statement cycle."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class CycleOut(BaseModel):
    statement_date: date
    issued: list[uuid.UUID]


class StatementOut(BaseModel):
    id: uuid.UUID
    account_id: str
    statement_date: date
    due_date: date
    amount_due: Decimal
    lines: list[dict[str, Any]]
    issued_at: datetime
