"""The registry's request and response models.

A record is what the practice knows of one NPI: an organization or a person, its name, tax
id, taxonomy, address, and the roles it plays on claims (billing, rendering). Field shapes are
checked here; what each role needs for the 837P is checked by `domain.record_errors`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue import Address

Role = Literal["billing", "rendering"]
EntityType = Literal["person", "organization"]
TaxIdType = Literal["EI", "SY"]
Npi = Annotated[str, Field(pattern=r"^\d{10}$", description="National Provider Identifier (10 digits).")]
Taxonomy = Annotated[str, Field(pattern=r"^[0-9A-Z]{9}X$", description="NUCC health care provider taxonomy.")]
TaxId = Annotated[str, Field(pattern=r"^\d{9}$", description="EIN or SSN, 9 digits without dashes.")]


class ProviderAddress(Address):
    """The catalogue's address, refusing unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class ProviderRecord(BaseModel):
    """One NPI as the practice registers it (POST, PUT)."""

    model_config = ConfigDict(extra="forbid")

    npi: Npi
    entity_type: EntityType = Field(description="person (NM102 1) or organization (NM102 2).")
    name: str = Field(
        min_length=1, max_length=60, description="An organization's name or a person's last name."
    )
    first_name: str | None = Field(default=None, max_length=35, description="A person's first name.")
    taxonomy: Taxonomy | None = None
    tax_id: TaxId | None = None
    tax_id_type: TaxIdType | None = Field(
        default=None, description="EI: employer id (EIN); SY: a person's SSN. Unset means EI."
    )
    address: ProviderAddress | None = Field(
        default=None, description="Where the provider practises: a street address; ZIP+4 for billing."
    )
    roles: list[Role] = Field(min_length=1, max_length=2, description="What the NPI is on claims.")


class ProviderPatch(BaseModel):
    """Fields to change; what is sent replaces what was there (null clears an optional one)."""

    model_config = ConfigDict(extra="forbid")

    entity_type: EntityType | None = None
    name: str | None = Field(default=None, min_length=1, max_length=60)
    first_name: str | None = Field(default=None, max_length=35)
    taxonomy: Taxonomy | None = None
    tax_id: TaxId | None = None
    tax_id_type: TaxIdType | None = None
    address: ProviderAddress | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=2)


class ProviderOut(ProviderRecord):
    model_config = ConfigDict(extra="ignore", from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProviderFilters:
    """The list's filters (query parameters); each applies only when given."""

    role: Annotated[Role | None, Query()] = None
    entity_type: Annotated[EntityType | None, Query()] = None
