"""When an authorization is about to lapse: the thresholds it has reached, without I/O."""

from __future__ import annotations

from typing import Any


def visits_left(visits_allowed: int | None, visits_used: int) -> int | None:
    """None when the authorization does not count visits."""
    return None if visits_allowed is None else visits_allowed - visits_used


def thresholds_reached(row: Any, *, days: int, visits: int) -> list[str]:
    """'days' when the end date is `days` away or less, 'visits' when `visits` or fewer remain."""
    reached = []
    if row["days_left"] <= days:
        reached.append("days")
    left = visits_left(row["visits_allowed"], row["visits_used"])
    if left is not None and left <= visits:
        reached.append("visits")
    return reached
