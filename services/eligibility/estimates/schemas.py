"""The API's models of an estimate request."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class EstimateLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9]{5}$", description="CPT/HCPCS code.")
    modifiers: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]] = Field(
        default_factory=list, max_length=4
    )
    units: int = Field(default=1, ge=1, le=999)
    charge: Decimal = Field(gt=0, max_digits=12, decimal_places=2)


class EstimateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check_id: uuid.UUID = Field(description="A completed coverage check whose benefits to use.")
    service_type_code: str = Field(default="30", pattern=r"^[A-Z0-9]{1,2}$")
    in_network: bool = True
    lines: list[EstimateLine] = Field(min_length=1, max_length=50)
