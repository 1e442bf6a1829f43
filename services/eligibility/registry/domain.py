"""Rules of the registry copy, without I/O: which coverage is in force on a date of service,
and the coverage check (the 270's content, X12 005010X279A1) the copy makes of a patient id
and a date.

The subscriber loop carries the patient when they hold the coverage themselves (relationship
18, loop 2000C/2100C: name, member id, DMG); otherwise 2100C names the subscriber on file with
the coverage's member id and the patient is asked about as a dependent (loop 2000D/2100D:
name, DMG, INS02 relationship). Everything here is PHI: it goes sealed into the check's
request, never into logs, errors or the clear `checks.result`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.eligibility.checks.schemas import CheckIn, DependentIn, PatientIn, RegistryCheckIn
from shared.events.frontoffice import in_force_on
from shared.problems import ProblemError, invalid

SELF = "18"  # X12 1069 individual relationship code: the patient is the subscriber
# INS02 codes a 270's loop 2100D may carry (01 spouse, 19 child, 34 other adult), by the
# names checks' DependentIn uses; another relationship is asked about without INS.
DEPENDENT_RELATIONSHIPS = {"01": "spouse", "19": "child", "34": "other_adult"}
NO_COVERAGE = "no_registered_coverage"


def no_coverage() -> ProblemError:
    """The 422 of a patient the copy cannot check: it names the field and the rule, never the
    patient id's value."""
    return invalid(
        ("body.patient_id", NO_COVERAGE, "No registered coverage in force on date_of_service."),
        detail="1 field(s) broke a rule; see `errors`.",
    )


def no_subscriber() -> ProblemError:
    """The coverage in force is held by someone else and the registry does not say who."""
    return invalid(
        (
            "body.patient_id",
            "no_registered_subscriber",
            "The coverage in force on date_of_service names no subscriber (relationship is not 18).",
        ),
        detail="1 field(s) broke a rule; see `errors`.",
    )


def in_force(coverages: list[dict[str, Any]], on: date, order: str) -> dict[str, Any] | None:
    """The coverage of this order (primary, secondary, tertiary) whose effective..termination
    dates hold `on` (both ends included), or None."""
    for coverage in coverages:
        start = date.fromisoformat(coverage["effective_date"])
        end = coverage.get("termination_date")
        stop = None if end is None else date.fromisoformat(end)
        if coverage["order"] == order and in_force_on(start, stop, on):
            return coverage
    return None


@dataclass(frozen=True)
class Copy:
    """A patient's copy as opened: the registry revision it is at (the higher of its halves,
    since both events count on one per-patient counter), the demographics (a
    `frontoffice.Demographics` as JSON) and the ordered coverages (`RegisteredCoverage`s)."""

    revision: int
    patient: dict[str, Any] | None
    coverages: list[dict[str, Any]]


def _person(who: dict[str, Any]) -> PatientIn:
    return PatientIn(first_name=who["first_name"], last_name=who["last_name"], birth_date=who["birth_date"])


def check_of(copy: Copy, body: RegistryCheckIn, provider_npi: str) -> tuple[CheckIn, dict[str, Any]]:
    """The full check the copy makes of `body`, and the snapshot its 271 is compared with
    (sealed with the check's request): the revision, the patient, the coverage checked and the
    payers of every coverage on file (a 271 naming one of them as another payer agrees).
    Raises the 422 of `no_coverage` / `no_subscriber` when the copy cannot say who to ask
    about."""
    coverage = in_force(copy.coverages, body.date_of_service, body.coverage_order)
    if coverage is None or copy.patient is None:
        raise no_coverage()
    patient, dependent = copy.patient, None
    subscriber = patient
    if coverage["relationship_code"] != SELF:
        if coverage.get("subscriber") is None:
            raise no_subscriber()
        subscriber = coverage["subscriber"]
        dependent = DependentIn(
            first_name=patient["first_name"],
            last_name=patient["last_name"],
            birth_date=patient["birth_date"],
            gender=patient["sex"] if patient.get("sex") in ("F", "M") else None,
            relationship=DEPENDENT_RELATIONSHIPS.get(coverage["relationship_code"]),
        )
    check = CheckIn(
        patient_id=body.patient_id,
        patient=_person(subscriber),
        dependent=dependent,
        member_id=coverage["member_id"],
        payer_id=coverage["payer_id"],
        provider_npi=provider_npi,
        service_type_codes=body.service_type_codes,
        date_of_service=body.date_of_service,
    )
    snapshot = {
        "revision": copy.revision,
        "patient": patient,
        "coverage": coverage,
        "payer_ids_on_file": sorted({c["payer_id"] for c in copy.coverages}),
    }
    return check, snapshot
