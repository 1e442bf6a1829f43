"""Pure rules of accepting a payer's value: how values compare, how a field's value is read
from the registry and from the payer's text, and what happens to each field.

Deciding a stale discrepancy (the registry moved on since the check), field by field: the
event says what the registry held (`registry_value`) and what the payer says (`payer_value`).
- the registry holds the payer's value now → already_applied (nothing to do);
- it still holds what the check saw → applied (the disagreement stands; the payer's value wins);
- it holds a third value → superseded (someone changed it after the check: their newer,
  deliberate value stays, and the payer's is not applied).
So a discrepancy is acceptable whatever its revision, and never undoes a later change.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field as dataclass_field
from datetime import date, datetime
from typing import Any

from services.frontoffice.discrepancies.schemas import FieldOutcome
from shared.events.frontoffice import DiscrepancyField

DEMOGRAPHIC = ("first_name", "last_name", "birth_date", "sex", "address")
_ZIP_STATE = re.compile(r"^([A-Za-z]{2})\s+(\d{5}(?:-?\d{4})?)$")


def norm(value: Any) -> str:
    """Values as compared: upper case, white space collapsed (payers answer in capitals)."""
    return " ".join(str(value).upper().split()) if value is not None else ""


def address_text(address: dict[str, Any] | None) -> str | None:
    """An address as one line, as eligibility writes it in the event (line1, line2, city, ST ZIP)."""
    if not address:
        return None
    tail = " ".join(p for p in (address.get("state"), address.get("postal_code")) if p)
    return ", ".join(p for p in (address.get("line1"), address.get("line2"), address.get("city"), tail) if p)


def parse_address(text: str | None) -> dict[str, Any] | None:
    """The payer's one-line address back into its parts; None when it does not read as one."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    if len(parts) not in (3, 4):
        return None
    tail = _ZIP_STATE.match(parts[-1])
    if tail is None:
        return None
    line2 = parts[1] if len(parts) == 4 else None
    return {
        "line1": parts[0],
        "line2": line2,
        "city": parts[-2],
        "state": tail.group(1).upper(),
        "postal_code": tail.group(2).replace("-", ""),
    }


def parse_date(text: str | None) -> str | None:
    """The payer's birth date as ISO (the event's CCYY-MM-DD, or X12's CCYYMMDD)."""
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime((text or "").strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return None


def registry_text(name: str, demographics: dict[str, Any], member_id: str | None) -> str | None:
    """The registry's current value of a field as the event would show it."""
    if name == "address":
        return address_text(demographics.get("address"))
    if name == "member_id":
        return member_id
    value = demographics.get(name)
    return value.isoformat() if isinstance(value, date) else value


def payer_change(field: DiscrepancyField) -> tuple[str, Any] | None:
    """(registry field, value to set) for the payer's value, or None when it cannot be applied
    automatically (another payer: staff add the coverage; a value that does not read)."""
    if field.field == "address":
        parsed = parse_address(field.payer_value)
        return ("address", parsed) if parsed else None
    if field.field == "birth_date":
        parsed_date = parse_date(field.payer_value)
        return ("birth_date", parsed_date) if parsed_date else None
    if field.field in ("first_name", "last_name", "sex", "member_id") and field.payer_value:
        return field.field, field.payer_value.strip()
    return None


def decide(field: DiscrepancyField, current: str | None) -> FieldOutcome:
    """What accepting does with one field, given the registry's value now (see the module)."""
    if payer_change(field) is None:
        return FieldOutcome.not_applicable
    if field.field == "address":
        same_as_payer = norm(current) == norm(address_text(parse_address(field.payer_value)))
    elif field.field == "birth_date":
        same_as_payer = norm(current) == norm(parse_date(field.payer_value))
    else:
        same_as_payer = norm(current) == norm(field.payer_value)
    if same_as_payer:
        return FieldOutcome.already_applied
    if norm(current) == norm(field.registry_value):
        return FieldOutcome.applied
    return FieldOutcome.superseded


@dataclass
class Plan:
    """What accepting will do: each field's outcome (member ids keyed `member_id:<coverage>`),
    the demographic changes to make, the member ids to correct per coverage."""

    outcome: dict[str, FieldOutcome] = dataclass_field(default_factory=dict)
    demographics: dict[str, Any] = dataclass_field(default_factory=dict)
    member_ids: dict[uuid.UUID, str] = dataclass_field(default_factory=dict)


def plan(
    fields: Sequence[DiscrepancyField],
    chosen: Sequence[str] | None,
    demographics: dict[str, Any],
    members: dict[uuid.UUID, str],
) -> Plan:
    """Decide every field against the registry now (`demographics`, the member id of each
    coverage on file in `members`); only `chosen` fields when given."""
    out = Plan()
    for f in fields:
        key = f.field if f.field != "member_id" else f"member_id:{f.coverage_id}"
        if chosen is not None and f.field not in chosen:
            out.outcome[key] = FieldOutcome.not_chosen
            continue
        member_id = members.get(f.coverage_id) if f.coverage_id else None
        if f.field == "member_id" and member_id is None:
            out.outcome[key] = FieldOutcome.not_applicable  # the coverage is gone
            continue
        out.outcome[key] = decide(f, registry_text(f.field, demographics, member_id))
        change = payer_change(f)
        if out.outcome[key] is not FieldOutcome.applied or change is None:
            continue
        if f.field == "member_id" and f.coverage_id is not None:
            out.member_ids[f.coverage_id] = change[1]
        else:
            out.demographics[change[0]] = change[1]
    return out
