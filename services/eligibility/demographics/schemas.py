"""The API's models of the people a coverage check names as the payer's 271 has them: the
subscriber, the dependent and the primary care provider (PHI: shown to `eligibility:read`,
audited, kept only sealed)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class AddressOut(BaseModel):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


class PersonOut(BaseModel):
    """The subscriber (271 loop 2100C) or the dependent (2100D) as the payer has them."""

    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    name_suffix: str | None = None
    member_id: str | None = Field(None, description="NM109 (the subscriber only).")
    birth_date: date | None = None
    gender: str | None = Field(None, description="DMG03: F, M or U.")
    relationship_code: str | None = Field(
        None, description="INS02: 18 self, 01 spouse, 19 child, 34 other adult..."
    )
    address: AddressOut | None = None


class ProviderOut(BaseModel):
    """The primary care provider (271 loop 2120C/2120D NM1*P3 with PRV)."""

    entity_code: str
    last_name: str | None = None
    first_name: str | None = None
    id_qualifier: str | None = Field(None, description="NM108: XX (NPI), SV, PI...")
    identifier: str | None = None
    provider_code: str | None = Field(None, description="PRV01: PC primary care...")
    taxonomy: str | None = None
    address: AddressOut | None = None


class PlanTypeOut(BaseModel):
    code: str = Field(description="EB04 insurance type code, e.g. HM.")
    description: str
