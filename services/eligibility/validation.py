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

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
ServiceTypeCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,2}$", description="X12 service type code.")]


def npi_is_valid(npi: str) -> bool:
    """An NPI is 10 digits whose last is a Luhn check digit computed over "80840" + the
    first nine (the card-issuer prefix CMS assigned to NPIs)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:  # every second digit from the right, starting with the rightmost payload digit
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


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
