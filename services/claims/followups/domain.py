"""When a sent claim is overdue: its payer's follow-up window (data/payers.json) after it was
submitted, 30 days for a payer with none on file."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.claims.reference import store as reference

DEFAULT_WINDOW_DAYS = 30
WAITING = ("submitted", "accepted")  # sent, no adjudication yet


def windows() -> dict[str, int]:
    """Each payer's follow-up window in days."""
    return {payer.id: payer.followup_days for payer in reference.payers().values()}


def overdue(submitted_at: datetime, payer_id: str, now: datetime) -> tuple[datetime, int] | None:
    """(due at, days outstanding) of a claim past its payer's window at `now`, else None."""
    due = submitted_at + timedelta(days=windows().get(payer_id, DEFAULT_WINDOW_DAYS))
    return (due, (now - submitted_at).days) if due <= now else None
