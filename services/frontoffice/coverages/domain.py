"""Pure rules of a patient's coverages: order, overlap, and what kind of change a change is."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.events.frontoffice import CoverageChange, RegisteredCoverage
from shared.problems import FieldError, ProblemError, invalid

RANK = {"primary": 0, "secondary": 1, "tertiary": 2}
MAX_COVERAGES = 10  # coverage.updated carries the whole list, at most 10 (the contract's bound)
FOREVER = date.max


def in_order(coverages: list[RegisteredCoverage]) -> list[RegisteredCoverage]:
    """Primary, secondary, tertiary; within an order the latest effective first."""
    return sorted(coverages, key=lambda c: (RANK[c.order], -c.effective_date.toordinal(), str(c.coverage_id)))


def _span(c: RegisteredCoverage) -> tuple[date, date]:
    return c.effective_date, c.termination_date or FOREVER


def check_rules(coverages: list[RegisteredCoverage], *, field: str) -> None:
    """At most one coverage per order in force on any date (two primaries overlapping would
    leave claims not knowing whom to bill), termination not before effective, at most
    MAX_COVERAGES on file. A 422 naming `field` and the rule; never a value."""
    if len(coverages) > MAX_COVERAGES:
        raise invalid((field, "max_coverages", f"A patient holds at most {MAX_COVERAGES} coverages on file."))
    for c in coverages:
        if c.termination_date is not None and c.termination_date < c.effective_date:
            raise invalid(
                (
                    "body.termination_date",
                    "not_before_effective",
                    "The termination date must be on or after the effective date.",
                )
            )
    for i, a in enumerate(coverages):
        for b in coverages[i + 1 :]:
            if a.order != b.order:
                continue
            (a_from, a_to), (b_from, b_to) = _span(a), _span(b)
            if a_from <= b_to and b_from <= a_to:
                raise ProblemError(
                    409,
                    "coverage-order-overlap",
                    "Two coverages would share an order on the same dates",
                    f"Only one {a.order} coverage may be in force on any date: terminate the other "
                    "one first, or give this one another order.",
                    errors=[
                        FieldError(
                            field=field,
                            rule="one_in_force_per_order",
                            message="Terminate or reorder the other.",
                        )
                    ],
                )


def classify(before: RegisteredCoverage, after: RegisteredCoverage, today: date) -> list[CoverageChange]:
    """What one coverage's change means for claims: a corrected member id (claims may need a
    corrected claim), a termination (retroactive when dated before today: claims since went
    to a payer that no longer covered them), a new order, or another update."""
    base = {"coverage_id": after.coverage_id, "payer_id": after.payer_id}
    changes: list[CoverageChange] = []
    if before.member_id != after.member_id:
        changes.append(CoverageChange(kind="member_id_corrected", **base))
    ends = after.termination_date
    if ends is not None and (before.termination_date is None or ends < before.termination_date):
        changes.append(
            CoverageChange(kind="terminated", retroactive=ends < today, termination_date=ends, **base)
        )
    if before.order != after.order:
        changes.append(CoverageChange(kind="reordered", **base))
    rest = set(changed_fields(before, after)) - {"member_id", "order"}
    if ends is not None and (before.termination_date is None or ends < before.termination_date):
        rest.discard("termination_date")
    if rest:
        changes.append(CoverageChange(kind="updated", **base))
    return changes


def changed_fields(before: RegisteredCoverage, after: RegisteredCoverage) -> list[str]:
    """Field names whose value differs."""
    a, b = before.model_dump(mode="json"), after.model_dump(mode="json")
    return sorted(name for name in a if a[name] != b.get(name))


def from_row(row: Any) -> RegisteredCoverage:
    """A coverages row as the contract's model."""
    m = dict(row)
    m["order"] = m.pop("coverage_order")
    return RegisteredCoverage.model_validate(m)


def to_row(c: RegisteredCoverage) -> dict[str, Any]:
    """The contract's model as coverages columns (without patient and times)."""
    m = c.model_dump(mode="python")
    m["coverage_order"] = m.pop("order")
    m["subscriber"] = c.subscriber.model_dump(mode="json") if c.subscriber else None
    return m
