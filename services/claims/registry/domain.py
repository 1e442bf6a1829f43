"""Pure rules on claims' copy of the registry: which coverage is in force on a date of
service, which one a claim bills, and the claim content (subscriber, patient, other payers)
made from it. No I/O: the store reads the copy, the use cases decide when to fill.

Explicit data wins: a claim's values are filled only where they are absent (no subscriber:
the billed coverage and its payer, order, relationship and other payers; no patient: the
registry's demographics when the patient is not the subscriber)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.claims.registry.tables import RegistryCopy
from shared.events.frontoffice import Demographics, RegisteredCoverage

ORDER = {"primary": 0, "secondary": 1, "tertiary": 2}


@dataclass(frozen=True)
class Registered:
    """A patient as our copy has them (parsed): demographics (None until a patient.updated
    arrives) and every coverage on file, in force or not."""

    patient: Demographics | None
    coverages: list[RegisteredCoverage]


def parse(copy: RegistryCopy | None) -> Registered | None:
    """Our stored copy, read back with the contract's models (None: no copy)."""
    if copy is None:
        return None
    patient = Demographics.model_validate(copy.patient) if copy.patient else None
    return Registered(patient, [RegisteredCoverage.model_validate(c) for c in copy.coverages or []])


def in_force(coverages: list[RegisteredCoverage], on: date) -> list[RegisteredCoverage]:
    """The coverages in force on `on` (effective on or before it, not terminated before it),
    primary first."""
    alive = [c for c in coverages if c.in_force_on(on)]
    return sorted(alive, key=lambda c: ORDER[c.order])


def billed_coverage(
    coverages: list[RegisteredCoverage], on: date, *, payer_id: str | None, order: str
) -> RegisteredCoverage | None:
    """The coverage a claim bills: with a payer named, that payer's coverage in force (the one
    in the order asked, when the patient holds two with it); else the one in force in `order`."""
    alive = in_force(coverages, on)
    if payer_id is not None:
        same = [c for c in alive if c.payer_id == payer_id]
        return next((c for c in same if c.order == order), same[0] if same else None)
    return next((c for c in alive if c.order == order), None)


def person(who: Demographics) -> dict[str, Any]:
    """Registry demographics as claim content (PersonIn: X12 DMG03 gender is the registry's sex)."""
    return {
        "first_name": who.first_name,
        "last_name": who.last_name,
        "birth_date": who.birth_date.isoformat(),
        "gender": who.sex,
        "address": who.address.model_dump(mode="json") if who.address else None,
        "phone": who.phone,
    }


def subscriber(coverage: RegisteredCoverage, patient: dict[str, Any] | None) -> dict[str, Any] | None:
    """The 2010BA subscriber of a coverage: its subscriber, or the patient when self (18);
    None when neither is known (the scrubber then names the gap)."""
    holder = person(coverage.subscriber) if coverage.subscriber else None
    if holder is None and coverage.relationship_code == "18":
        holder = patient
    if holder is None:
        return None
    return {**holder, "member_id": coverage.member_id, "group_number": coverage.group_number}


def other_coverage(coverage: RegisteredCoverage) -> dict[str, Any]:
    """Another coverage in force, as the claim's other payer (837P 2320/2330, no adjudication)."""
    return {
        "payer_id": coverage.payer_id,
        "member_id": coverage.member_id,
        "order": coverage.order,
        "relationship_code": coverage.relationship_code,
        "subscriber": person(coverage.subscriber) if coverage.subscriber else None,
        "group_number": coverage.group_number,
    }


def fill(
    values: dict[str, Any], registered: Registered | None, on: date, *, patient: dict[str, Any] | None
) -> dict[str, Any]:
    """The claim's values (JSON) with what is absent taken from the copy for the date of
    service `on`. `patient`: demographics the caller sent (they win over the copy's)."""
    if registered is None:
        return values
    out = dict(values)
    known = patient or (person(registered.patient) if registered.patient else None)
    if out.get("subscriber") is None:
        order = out.get("coverage_order") or "primary"
        coverage = billed_coverage(registered.coverages, on, payer_id=out.get("payer_id"), order=order)
        if coverage is not None:
            out.update(
                payer_id=coverage.payer_id,
                coverage_order=coverage.order,
                relationship_code=coverage.relationship_code,
                subscriber=subscriber(coverage, known),
            )
            if not out.get("other_coverages"):
                others = [
                    c for c in in_force(registered.coverages, on) if c.coverage_id != coverage.coverage_id
                ]
                out["other_coverages"] = [other_coverage(c) for c in others[:2]]
    if out.get("patient") is None and out.get("relationship_code", "18") != "18":
        out["patient"] = known
    return out


def member_id_on_file(
    registered: Registered | None, payer_id: str, order: str, on: date
) -> tuple[str, str | None] | None:
    """(member id, group number) of the patient's coverage with `payer_id` in force on `on`,
    as the registry has it now; None without one."""
    if registered is None:
        return None
    coverage = billed_coverage(registered.coverages, on, payer_id=payer_id, order=order)
    return (coverage.member_id, coverage.group_number) if coverage else None
