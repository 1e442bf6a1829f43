"""Input rules shared by single checks, batches and estimates.

Rule names become `errors[].rule` in the 422 problem document, so a client can tell a bad
NPI check digit from a malformed member id without reading prose (and without the value
being echoed back: it may be PHI).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from shared.identifiers import npi_is_valid

ServiceTypeCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,2}$", description="X12 service type code.")]


def _npi(value: str) -> str:
    if len(value) != 10 or not value.isdigit():
        raise PydanticCustomError("npi_format", "An NPI is exactly 10 digits.")
    if not npi_is_valid(value):
        raise PydanticCustomError(
            "npi_check_digit", "The NPI's check digit is wrong (Luhn with prefix 80840)."
        )
    return value


def _member_id(value: str) -> str:
    if not (2 <= len(value) <= 80) or not all(c.isalnum() or c == "-" for c in value) or not value.isascii():
        raise PydanticCustomError(
            "member_id_format", "A member id is 2-80 letters, digits or hyphens, as printed on the card."
        )
    return value


def _not_future(value: date) -> date:
    if value > date.today():
        raise PydanticCustomError("date_in_future", "The date of birth cannot be in the future.")
    return value


Npi = Annotated[str, AfterValidator(_npi), Field(description="10-digit NPI with a valid check digit.")]
MemberId = Annotated[str, AfterValidator(_member_id), Field(description="Member id on the insurance card.")]
BirthDate = Annotated[date, AfterValidator(_not_future)]


class PatientIn(BaseModel):
    """Who the check is for (PHI: kept encrypted, never logged or put in events)."""

    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: BirthDate
