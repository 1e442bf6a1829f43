"""The money limits' rules, without I/O: which maximum an amount is held to, and the problem
an amount over it answers (naming the field and the rule, never the amount: it may be a
patient's)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.problems import ProblemError, invalid

# The kinds of amount with a maximum, and how a message names one of them.
KINDS: dict[str, str] = {
    "patient_payment": "one patient payment",
    "insurer_payment": "one insurer payment (an 835's BPR02) or bank deposit",
    "refund": "one refund",
    "write_off": "one write-off or adjustment",
}


@dataclass(frozen=True)
class Limits:
    """The limits in force. `version` is None while the settings' defaults apply."""

    patient_payment: Decimal
    insurer_payment: Decimal
    refund: Decimal
    write_off: Decimal
    approval_threshold: Decimal
    version: int | None = None
    changed_by: str | None = None
    changed_at: datetime | None = None

    @classmethod
    def of(cls, row: Any) -> Limits:
        """From a stored version (or anything with the same attributes)."""
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def maximum(self, kind: str) -> Decimal:
        if kind not in KINDS:
            raise KeyError(f"no money limit of kind {kind!r}")
        return getattr(self, kind)

    def over(self, kind: str, amount: Decimal) -> bool:
        """A debit and a credit are held to the same bound: the amount's size is what moves."""
        return abs(amount) > self.maximum(kind)

    def needs_approval(self, amount: Decimal) -> bool:
        """A write-off or adjustment over the threshold waits for a second person."""
        return abs(amount) > self.approval_threshold


def rule(kind: str) -> str:
    """`max_patient_payment`, ...: what an over-maximum error's `rule` says."""
    return f"max_{kind}"


def message(limits: Limits, kind: str) -> str:
    return (
        f"More than the practice allows for {KINDS[kind]}: at most {limits.maximum(kind)}. "
        "A payments admin sets the limits (PUT /v1/money-limits)."
    )


def over_maximum(limits: Limits, kind: str, field: str) -> ProblemError:
    """The 422 an amount over its maximum answers; nothing of the request is written."""
    return invalid((field, rule(kind), message(limits, kind)))


def located_over(
    limits: Limits, kind: str, amounts: Iterable[tuple[str, Decimal]]
) -> list[tuple[str, str, str]]:
    """(field, rule, message) of each (field, amount) over the kind's maximum: for files, whose
    errors name a record or segment rather than a body field."""
    return [
        (field, rule(kind), message(limits, kind)) for field, amount in amounts if limits.over(kind, amount)
    ]
