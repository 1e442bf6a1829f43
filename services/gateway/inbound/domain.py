"""Pure rules of received files: which transaction a file is, and what processing it came to.

Nothing here sees a file's data in its messages: errors and warnings name segments, positions
and rules, never values (an X12 file is full of PHI).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.gateway.partners.domain import TradingPartner
from shared.x12 import Interchange, X12Error

# received_files.kind
TA1, ACK_999, CA_277, STATUS_277, REMIT_835, ELIG_271, UNKNOWN = (
    "TA1",
    "999",
    "277CA",
    "277",
    "835",
    "271",
    "unknown",
)
# review_queue.reason
UNKNOWN_TYPE, UNREADABLE, ENVELOPE, UNMATCHED, UNSUPPORTED, NOT_OURS, TOO_LARGE = (
    "unknown_type",
    "unreadable",
    "envelope",
    "unmatched_ack",
    "unsupported",
    "not_ours",
    "too_large",
)

# (GS01, GS08 prefix) → kind: the functional group and its implementation guide say what a
# file is; the file's name does not (clearinghouses name files their own way).
_KINDS: tuple[tuple[str, str, str], ...] = (
    ("FA", "005010X231", ACK_999),
    ("HN", "005010X214", CA_277),
    ("HN", "005010X212", STATUS_277),
    ("HP", "005010X221", REMIT_835),
    ("HB", "005010X279", ELIG_271),
)


@dataclass(frozen=True)
class Identified:
    """What a file is (`kind`), or why it is none of ours (`reason` and located `detail`)."""

    kind: str
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def identify(interchange: Interchange) -> Identified:
    """TA1 segment (alone) → TA1; else each functional group by GS01 and GS08 (999, 277CA,
    277, 835, 271; a TA1 beside the groups is read too, see `inbound.usecases.process`). A
    file mixing kinds, or of a kind we do not read, is `unknown`."""
    if interchange.ta1 and not interchange.groups:
        return Identified(TA1)
    kinds = set()
    for group in interchange.groups:
        kind = next(
            (
                k
                for gs01, guide, k in _KINDS
                if group.functional_id == gs01 and group.version.startswith(guide)
            ),
            None,
        )
        if kind is None:
            return Identified(
                UNKNOWN,
                UNKNOWN_TYPE,
                {
                    "message": "no reader for this functional group (GS01/GS08)",
                    "segment": "GS",
                    "position": group.gs.position,
                    "functional_id": group.functional_id[:2],
                    "version": group.version[:12],
                },
            )
        kinds.add(kind)
    if len(kinds) != 1:
        return Identified(
            UNKNOWN, UNKNOWN_TYPE, {"message": "the file mixes transaction kinds", "segment": "GS"}
        )
    return Identified(kinds.pop())


def located(error: X12Error, rule: str, severity: str = "error") -> dict[str, Any]:
    """An X12Error as a received file's error entry: where, never what (X12Error never quotes
    data)."""
    return {
        "severity": severity,
        "rule": rule,
        "message": error.message,
        "segment": error.segment,
        "position": error.position,
        "element": error.element,
    }


@dataclass(frozen=True)
class Received:
    """A received file as the readers see it, with its partner's configuration when known."""

    id: uuid.UUID
    partner_id: str | None
    remote_name: str
    content: str
    received_at: datetime
    partner: TradingPartner | None = None


@dataclass
class Outcome:
    """What processing a file came to: `review` (reason, detail) when nobody could act on it;
    `warnings` recorded on the file (defects read through); `counts` for GET /v1/files."""

    review: tuple[str, dict[str, Any]] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def beside(self, ta1: Outcome) -> Outcome:
        """This outcome with a TA1's read in the same interchange: warnings and counts of both;
        review only when neither found what it answers."""
        review = self.review if ta1.review is not None else None
        counts = {**{f"ta1_{k}": v for k, v in ta1.counts.items()}, **self.counts}
        return Outcome(review=review, warnings=ta1.warnings + self.warnings, counts=counts)

    @classmethod
    def to_review(cls, reason: str, message: str, **detail: Any) -> Outcome:
        return cls(review=(reason, {"message": message, **detail}))
