"""Keeping the parties of a poll's encounters, and reading who an account's are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.parties import store
from services.payments.parties.domain import party_row
from shared.events import Event
from shared.events.catalogue import EncounterCompleted


@dataclass(frozen=True)
class Parties:
    """An account's patient and guarantor ({name, address, phone} each)."""

    patient: dict[str, Any]
    guarantor: dict[str, Any]
    relationship: str


async def record_encounters(session: AsyncSession, events: Sequence[Event]) -> None:
    """The parties of each encounter, in one statement (a repeated encounter is a no-op)."""
    now = datetime.now(UTC)
    rows = [
        row
        for event in events
        if isinstance(event.data, EncounterCompleted) and (row := party_row(event.data, now)) is not None
    ]
    await store.add_many(session, rows)


async def parties_of(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, Parties]:
    """Who each account's patient and guarantor are, from its latest encounter (accounts the
    EHR never told us about are missing)."""
    rows = await store.newest(session, account_ids)
    return {r.account_id: Parties(r.patient, r.guarantor, r.relationship) for r in rows}
