"""What acknowledgment codes mean, without I/O beyond reading the shipped code lists once.

The descriptions are the published ones of the X12 external code lists (services/gateway/data):
Claim Status Category Codes (507), Claim Status Codes (508), Entity Identifier Codes (98), and
the TA1 and 999 codes. A billing specialist reads "A7: Acknowledgement/Rejected for Invalid
Information … 562: Entity's National Provider Identifier (NPI) … 85: Billing Provider" instead
of a code book. A code not on file says so instead of failing: payers add codes every quarter.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from shared.events.clearinghouse import AckError, ClaimStatusCode, RejectionReason

DATA = Path(__file__).resolve().parent.parent / "data"
NOT_ON_FILE = "description not on file"

# 277CA categories (STC01-1): accepted for adjudication, or rejected back to the provider.
ACCEPTED = frozenset({"A0", "A1", "A2", "A5"})
REJECTED = frozenset({"A3", "A4", "A6", "A7", "A8"})
# IK501 / AK901 codes that reject the set or the group.
SET_REJECTED = frozenset({"R", "M", "W", "X"})


@cache
def _csv(name: str) -> dict[str, str]:
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        return {row["code"]: row["description"] for row in csv.DictReader(f)}


@cache
def _ack_codes() -> dict[str, dict[str, str]]:
    with (DATA / "ack_codes.json").open(encoding="utf-8") as f:
        return {k: v for k, v in json.load(f).items() if not k.startswith("_")}


def describe(code_list: str, code: str | None) -> str:
    """The published description of `code` in `code_list` (TA104, TA105, IK304, IK403, IK501,
    IK502, AK901, AK905; or 507, 508, 98), or NOT_ON_FILE."""
    if not code:
        return NOT_ON_FILE
    if code_list in ("507", "508", "98"):
        table = _csv(
            {"507": "claim_status_categories.csv", "508": "claim_status_codes.csv", "98": "entity_codes.csv"}[
                code_list
            ]
        )
    else:
        table = _ack_codes().get(code_list, {})
    return table.get(code, NOT_ON_FILE)


def status_code(composite: list[str], free_text: str | None = None) -> ClaimStatusCode | None:
    """One STC C043 composite (category:status:entity) with its descriptions; None when empty."""
    parts = [p.strip() for p in composite] + ["", "", ""]
    category, status, entity = parts[0], parts[1] or None, parts[2] or None
    if not category:
        return None
    status_text = describe("508", status) if status else None
    if status_text is not None and entity:
        status_text = f"{status_text} (entity {entity}: {describe('98', entity)})"
    return ClaimStatusCode(
        category_code=category[:3],
        status_code=status[:5] if status else None,
        entity_code=entity[:3] if entity else None,
        category_description=describe("507", category)[:300],
        status_description=status_text[:500] if status_text else None,
        free_text=free_text[:264] if free_text else None,
    )


def claim_outcome(statuses: list[ClaimStatusCode]) -> str | None:
    """`rejected` when any composite's category rejects the claim, `accepted` when one accepts
    it, else None (a 277CA category that neither accepts nor rejects: nothing to publish)."""
    categories = {s.category_code for s in statuses}
    if categories & REJECTED:
        return "rejected"
    if categories & ACCEPTED:
        return "accepted"
    return None


def stc_reason(status: ClaimStatusCode) -> RejectionReason:
    """A 277CA rejection reason: code `A7:562:85`, the descriptions as its message."""
    code = ":".join(c for c in (status.category_code, status.status_code, status.entity_code) if c)
    message = status.category_description + (
        f" {status.status_description}" if status.status_description else ""
    )
    return RejectionReason(
        code=code[:30],
        message=message[:500],
        source="277CA",
        category_code=status.category_code,
        status_code=status.status_code,
        entity_code=status.entity_code,
    )


def where(error: AckError) -> str:
    """`segment NM1 position 17, loop 2010BA, element 09`: what a 999 located, in words."""
    parts = [f"segment {error.segment_id}" if error.segment_id else "the transaction set"]
    if error.segment_position:
        parts.append(f"position {error.segment_position}")
    if error.loop_id:
        parts.append(f"loop {error.loop_id}")
    if error.element_position:
        element = f"element {error.element_position:02d}"
        if error.component_position:
            element += f"-{error.component_position}"
        parts.append(element)
    return ", ".join(parts)


def ack_reason(error: AckError, source: str) -> RejectionReason:
    """A rejection reason from a located 999 error (`999:IK304-8`, `999:IK403-1`) or a TA1
    note (`TA1:008`)."""
    if source == "TA1":
        code = f"TA1:{error.error_code}"
        message = f"The clearinghouse rejected the whole interchange: {error.description}"
    else:
        kind = "IK403" if error.element_position else ("IK304" if error.segment_id else "IK502")
        code = f"999:{kind}-{error.error_code}"
        message = f"{where(error)}: {error.description}"
    return RejectionReason(
        code=code[:30],
        message=message[:500],
        source=source,  # type: ignore[arg-type]
        segment_id=error.segment_id,
        segment_position=error.segment_position,
        loop_id=error.loop_id,
        element_position=error.element_position,
        error_code=error.error_code,
    )


def set_reasons(errors: list[AckError], code: str) -> list[RejectionReason]:
    """Why a 999 rejected a set: each located error, or its IK501 code when none is located."""
    return [ack_reason(e, "999") for e in errors] or [
        RejectionReason(code=f"999:IK501-{code}", message=describe("IK501", code), source="999")
    ]


def group_reasons(group_codes: list[str], code: str) -> list[RejectionReason]:
    """Why a 999 rejected a whole group: its AK905-AK909 codes, or its AK901 code."""
    return [
        RejectionReason(code=f"999:AK905-{c}", message=describe("AK905", c), source="999", error_code=c[:3])
        for c in group_codes
    ] or [RejectionReason(code=f"999:AK901-{code}", message=describe("AK901", code), source="999")]


class ClaimAnswers:
    """A 277CA's answers applied in file order to the claims read once for the whole file,
    as if each were its own UPDATE (what the reader did claim by claim): an acceptance never
    overwrites a rejection (earlier in the file or before), the latest REF*1K wins, and a REF*1K
    given to one claim is there for a later claim of the same file that matches only by it.
    `marks()` is what is left to write: one row per claim that changed, for one UPDATE."""

    def __init__(self, rows: Iterable[Any], source: str) -> None:
        self.source = source
        self._rows: dict[Any, Any] = {}
        self._state: dict[Any, str] = {}
        self._pccn: dict[Any, str | None] = {}
        self._by_pccn: dict[str, set[Any]] = {}
        self._marks: dict[Any, dict[str, Any]] = {}
        for row in rows:
            self._add(row)

    def _add(self, row: Any) -> None:
        if row.event_id in self._rows:
            return
        self._rows[row.event_id] = row
        self._state[row.event_id] = row.ack_state
        self._pccn[row.event_id] = row.payer_claim_control_number
        if row.payer_claim_control_number:
            self._by_pccn.setdefault(row.payer_claim_control_number, set()).add(row.event_id)

    def by_payer_number(self, pccn: str) -> Any:
        """The latest filed claim that has this payer number now (None when none has)."""
        ids = self._by_pccn.get(pccn)
        if not ids:
            return None
        return self._rows[max(ids, key=lambda i: self._rows[i].submitted_at)]

    def answer(self, row: Any, ack_state: str, pccn: str | None) -> None:
        """One claim's answer (`accepted` or `rejected`, its REF*1K if any)."""
        self._add(row)
        key = row.event_id
        if ack_state == "accepted" and self._state[key] == "rejected":
            return
        self._state[key] = ack_state
        mark = self._marks.setdefault(
            key, {"event_id": key, "ack_source": self.source, "payer_claim_control_number": None}
        )
        mark["ack_state"] = ack_state
        if pccn:
            old = self._pccn[key]
            if old:
                self._by_pccn[old].discard(key)
            self._pccn[key] = pccn
            self._by_pccn.setdefault(pccn, set()).add(key)
            mark["payer_claim_control_number"] = pccn

    def marks(self) -> list[dict[str, Any]]:
        """The claims' new answers, for `store.mark_answers`."""
        return list(self._marks.values())
