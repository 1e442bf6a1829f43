"""The people a 271 names, as plain data without I/O: the subscriber and the dependent (loops
2100C/2100D), the primary care provider (2120C/2120D NM1*P3), the JSON they are sealed as,
and which request fields the payer's answer contradicts.

Everything here is PHI. `checks` seals `Demographics.as_dict()` with its vault; nothing of it
goes into `checks.result` (stored in clear), events or logs. `mismatches` names fields, never
values, so its answer can be kept in clear.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from shared import x12

# INS02 individual relationship codes a 270's 2100D may send (X12 1069), by the API's words.
RELATIONSHIPS = {"spouse": "01", "child": "19", "other_adult": "34"}
# REF01 of loop 2100C/2100D: the patient account number the provider sent (REF*EJ in the 270).
PATIENT_ACCOUNT = "EJ"
PLAN_NUMBER = "18"
PRIMARY_CARE_PROVIDER = "P3"


@dataclass
class Address:
    """N3 (lines) and N4 (city, state, postal code, country) as the payer has them."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


@dataclass
class Person:
    """A subscriber (NM1*IL) or dependent (NM1*03) with the segments of their name loop."""

    last_name: str | None
    first_name: str | None
    middle_name: str | None = None
    name_suffix: str | None = None
    member_id: str | None = None  # NM109 (2100C only: 2100D has no id in 5010)
    birth_date: date | None = None  # DMG02
    gender: str | None = None  # DMG03: F, M, U
    relationship_code: str | None = None  # INS02: 18 self, 01 spouse, 19 child, 34 other adult...
    address: Address | None = None
    references: dict[str, str] = field(default_factory=dict)  # REF01 -> REF02

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("references")
        out["birth_date"] = self.birth_date.isoformat() if self.birth_date else None
        return out


@dataclass
class Provider:
    """A benefit-related entity (2120C/2120D NM1) with its N3/N4 and PRV."""

    entity_code: str
    last_name: str | None
    first_name: str | None
    id_qualifier: str | None = None  # NM108: XX NPI, SV service provider number, PI...
    identifier: str | None = None
    provider_code: str | None = None  # PRV01: PC primary care, ...
    taxonomy: str | None = None  # PRV03 when PRV02 = PXC
    address: Address | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Demographics:
    """Who the 271 is about: the subscriber, the dependent when the patient is one, and the
    patient's primary care provider."""

    subscriber: Person | None = None
    dependent: Person | None = None
    primary_care_provider: Provider | None = None

    @property
    def patient(self) -> Person | None:
        return self.dependent or self.subscriber

    @property
    def patient_account_number(self) -> str | None:
        return self.patient.references.get(PATIENT_ACCOUNT) if self.patient else None

    def as_dict(self) -> dict[str, Any]:
        """The JSON sealed in `checks.demographics_enc` and shown by the API."""
        return {
            "subscriber": self.subscriber.as_dict() if self.subscriber else None,
            "dependent": self.dependent.as_dict() if self.dependent else None,
            "primary_care_provider": self.primary_care_provider.as_dict()
            if self.primary_care_provider
            else None,
            "patient_account_number": self.patient_account_number,
        }


def demographics_of(answer: Any) -> dict[str, Any]:
    """The sealed JSON of an answer that has `demographics` (a coverage Response271)."""
    return answer.demographics.as_dict()


def _same_name(sent: str | None, returned: str | None, width: int) -> bool:
    return x12.clean(sent, width) == x12.clean(returned, width)


def _differences(prefix: str, sent: dict[str, Any], returned: dict[str, Any]) -> list[str]:
    out = []
    for name, width in (("first_name", 35), ("last_name", 60)):
        if returned.get(name) and sent.get(name) and not _same_name(sent[name], returned[name], width):
            out.append(f"{prefix}.{name}")
    if returned.get("birth_date") and sent.get("birth_date") and sent["birth_date"] != returned["birth_date"]:
        out.append(f"{prefix}.birth_date")
    if returned.get("gender") in ("F", "M") and sent.get("gender") and sent["gender"] != returned["gender"]:
        out.append(f"{prefix}.gender")
    return out


def mismatches(sent: dict[str, Any], demographics: dict[str, Any]) -> list[str]:
    """The request fields (as the API names them) whose value the payer's answer contradicts,
    so staff know what to correct: `member_id`, `patient.*` (the subscriber, as sent) and
    `dependent.*`. Values are compared as the 270 sent them (upper case, delimiters removed);
    what the payer did not return is not a difference."""
    out = []
    subscriber = demographics.get("subscriber") or {}
    returned_id = (subscriber.get("member_id") or "").upper()
    if returned_id and returned_id != str(sent.get("member_id", "")).upper():
        out.append("member_id")
    out += _differences("patient", sent, subscriber)
    if sent.get("dependent") and demographics.get("dependent"):
        out += _differences("dependent", sent["dependent"], demographics["dependent"])
    return out
