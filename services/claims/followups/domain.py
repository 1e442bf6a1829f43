"""When a sent claim is overdue: its payer's follow-up window (data/payers.json) after it was
submitted, or after the payer's last pended/finalized status answer (`followup_from`), 30 days
for a payer with none on file. And what a status answer (277 X212, 277CA) does to a claim."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from services.claims.reference import store as reference

DEFAULT_WINDOW_DAYS = 30
WAITING = ("submitted", "accepted")  # sent, no adjudication yet

# Claim Status Category Codes (code list 507): what each says about where the claim is.
ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})
# Pended (P0-P5) and finalized (F0-F4): the payer has the claim; the money comes with the 835.
HELD_PREFIXES = ("P", "F")


def windows() -> dict[str, int]:
    """Each payer's follow-up window in days."""
    return {payer.id: payer.followup_days for payer in reference.payers().values()}


def window_start(submitted_at: datetime, followup_from: datetime | None) -> datetime:
    """The window counts from the later of the submission and the payer's last P/F answer."""
    return max(submitted_at, followup_from) if followup_from else submitted_at


def overdue(
    submitted_at: datetime, payer_id: str, now: datetime, followup_from: datetime | None = None
) -> tuple[datetime, int] | None:
    """(due at, days outstanding) of a claim past its payer's window at `now`, else None."""
    start = window_start(submitted_at, followup_from)
    due = start + timedelta(days=windows().get(payer_id, DEFAULT_WINDOW_DAYS))
    return (due, (now - submitted_at).days) if due <= now else None


def status_after_answer(current: str, category: str) -> str | None:
    """The claim's next status after a payer's status answer (STC01-1), or None when it stays.

    Accepted, pended or finalized on a `submitted` claim: the payer has it (accepted). Rejected
    or not found (A4: the payer lost it, resubmit) on a waiting claim: rejected, to be corrected
    or sent again. Nothing else moves: money and denials come only from 835s, and an E* answer
    (the payer could not answer) is asked again later."""
    category = category.upper()
    if current == "submitted" and (category in ACCEPTED_CATEGORIES or category.startswith(HELD_PREFIXES)):
        return "accepted"
    if current in WAITING and category in REJECTED_CATEGORIES:
        return "rejected"
    return None


def asks_again(category: str) -> bool:
    """A pended or finalized answer restarts the follow-up window (asked again one window on)."""
    return category.upper().startswith(HELD_PREFIXES)


def answer_line(
    source: str,
    codes: list[str],
    effective: date | None,
    pccn: str | None,
    paid: Decimal | None = None,
) -> str:
    """The history entry of one answer: "277 F0:3 effective 2005-09-15, payer claim 123"."""
    text = f"{source} {', '.join(codes) or '-'}"
    if effective:
        text += f" effective {effective.isoformat()}"
    if pccn:
        text += f", payer claim {pccn}"
    if paid is not None:
        text += f", paid {paid}"
    return text[:500]
