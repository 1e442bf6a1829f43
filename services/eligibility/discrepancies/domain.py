"""What a payer's 271 says differently from the registry copy a check was built from, without
I/O (X12 005010X279A1 loops):

- the patient's name loop: 2100C when the patient is the subscriber (relationship 18), 2100D
  when they are a dependent: NM103 last name, NM104 first name, DMG02 birth date (DMG01 D8,
  CCYYMMDD), DMG03 sex (F/M; U or absent says nothing), N3/N4 address;
- 2100C NM109 the subscriber's member id: a payer that corrects it returns the right one in
  NM109 (and the id that was sent in REF*Q4, "prior identifier number");
- loop 2110C EB01=R "other or additional payer" with its 2120C NM1 (PRP primary, SEP
  secondary, TTP tertiary, PR payer; NM109 the payer id when NM108 is PI): a payer the 271
  names that the registry has no coverage with.

Values are normalized before they are compared (case, runs of white space, the X12 delimiters
the 270 could not send, ZIP+4 against ZIP5), so a trivially equal value is no discrepancy, and
what the payer did not return is none either. All of it is PHI: it goes only into the
eligibility.discrepancy_found event, for the front office; the check itself keeps field names.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.eligibility.registry.domain import SELF
from shared import x12
from shared.events.frontoffice import DiscrepancyField, DiscrepancyFound

VALUE_MAX = 200  # DiscrepancyField.registry_value / payer_value


def _text(value: Any) -> str:
    """Upper case, delimiters blanked, white space collapsed: how the 270 sent it (x12.clean)."""
    return x12.clean(str(value)) if value is not None else ""


def _zip(value: Any) -> str:
    digits = "".join(c for c in str(value or "") if c.isdigit())
    return digits[:5]


def address_text(address: dict[str, Any] | None) -> str | None:
    """An address as one line (the event carries a string): lines, city, state and ZIP as given."""
    if not address:
        return None
    lines = [address.get("line1"), address.get("line2"), address.get("city")]
    tail = " ".join(p for p in (address.get("state"), address.get("postal_code")) if p)
    return ", ".join(p for p in [*lines, tail] if p)[:VALUE_MAX] or None


def _address_key(address: dict[str, Any] | None) -> tuple[str, ...]:
    """An address as compared: its normalized parts, the ZIP code's first five digits (a
    ZIP+4 agrees with its ZIP5)."""
    a = address or {}
    return (
        _text(a.get("line1")),
        _text(a.get("line2")),
        _text(a.get("city")),
        _text(a.get("state")),
        _zip(a.get("postal_code")),
    )


def _field(name: str, registry: Any, payer: Any, **extra: Any) -> DiscrepancyField:
    def shown(value: Any) -> str | None:
        return None if value is None else str(value)[:VALUE_MAX]

    return DiscrepancyField(field=name, registry_value=shown(registry), payer_value=shown(payer), **extra)


def _person(registry: dict[str, Any], payer: dict[str, Any]) -> list[DiscrepancyField]:
    """The patient's name loop (NM103/NM104, DMG02/DMG03, N3/N4) against the registry's patient."""
    out = []
    for name, width in (("first_name", 35), ("last_name", 60)):
        said = payer.get(name)
        if said and x12.clean(registry.get(name), width) != _text(said)[:width]:
            out.append(_field(name, registry.get(name), said))
    said_birth = payer.get("birth_date")
    if said_birth and said_birth != str(registry.get("birth_date")):
        out.append(_field("birth_date", registry.get("birth_date"), said_birth))
    said_sex = payer.get("gender")
    if said_sex in ("F", "M") and said_sex != registry.get("sex"):
        out.append(_field("sex", registry.get("sex"), said_sex))
    said_address = payer.get("address")
    if said_address and any(said_address.values()):
        if _address_key(said_address) != _address_key(registry.get("address")):
            out.append(_field("address", address_text(registry.get("address")), address_text(said_address)))
    return out


def _member_id(coverage: dict[str, Any], subscriber: dict[str, Any]) -> list[DiscrepancyField]:
    """2100C NM109 against the coverage's member id (case and white space aside)."""
    said = subscriber.get("member_id")
    if not said or "".join(said.split()).upper() == "".join(coverage["member_id"].split()).upper():
        return []
    return [_field("member_id", coverage["member_id"], said, coverage_id=coverage["coverage_id"])]


def _other_payers(on_file: list[str], other_payers: list[dict[str, Any]]) -> list[DiscrepancyField]:
    """2110C EB*R / 2120C NM1: each payer the 271 names that the registry has no coverage with."""
    known = {p.strip().upper() for p in on_file}
    out, seen = [], set()
    for other in other_payers:
        payer_id = (other.get("payer_id") or "").strip()
        if not payer_id or payer_id.upper() in known or payer_id.upper() in seen:
            continue
        seen.add(payer_id.upper())
        named = " ".join(p for p in (other.get("name"), other.get("order")) if p) or payer_id
        field = _field("other_payer", None, named, payer_id=payer_id if _is_id(payer_id) else None)
        out.append(field)
    return out


def _is_id(value: str) -> bool:
    return 1 <= len(value) <= 64 and all(c.isalnum() or c in "._:-" for c in value)


def disagreements(
    snapshot: dict[str, Any], people: dict[str, Any], other_payers: list[dict[str, Any]]
) -> list[DiscrepancyField]:
    """Everything a 271 (its people, `demographics.domain.Demographics.as_dict()`, and its
    other payers, `checks.result["other_payers"]`) says differently from the registry snapshot
    the check was built from (`registry.domain.check_of`)."""
    coverage, patient = snapshot["coverage"], snapshot["patient"]
    subscriber = people.get("subscriber") or {}
    # The patient's own loop: 2100C when they hold the coverage, 2100D when a dependent.
    own = subscriber if coverage["relationship_code"] == SELF else people.get("dependent") or {}
    return [
        *_person(patient, own),
        *_member_id(coverage, subscriber),
        *_other_payers(snapshot["payer_ids_on_file"], other_payers),
    ]


def discrepancy_of(
    check_id: uuid.UUID,
    patient_id: str,
    snapshot: dict[str, Any],
    people: dict[str, Any],
    other_payers: list[dict[str, Any]],
    at: datetime,
) -> DiscrepancyFound | None:
    """The one eligibility.discrepancy_found of a check's 271, or None when it agrees."""
    fields = disagreements(snapshot, people, other_payers)
    if not fields:
        return None
    return DiscrepancyFound(
        check_id=check_id,
        patient_id=patient_id,
        payer_id=snapshot["coverage"]["payer_id"],
        registry_revision=snapshot["revision"],
        fields=fields,
        found_at=at,
    )
