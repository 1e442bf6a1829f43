"""The value types every payload module shares: the payload base, money and ids.

Its own module so that payload modules can import each other's value types (payloads.py uses
institutional.py's) without an import cycle."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2, description="Amount in USD, two decimals.")]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]


class Payload(BaseModel):
    """Base of every event payload: immutable; unknown fields are tolerated (additive changes)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
