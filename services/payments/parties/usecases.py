"""Keeping the parties of a poll's encounters and the registry's patients, and reading who an
account's are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.parties import store
from services.payments.parties.domain import party_row, registry_row
from shared.events import Event
from shared.events.catalogue import EncounterCompleted, PatientUpdated


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


async def record_registry(session: AsyncSession, events: Sequence[Event]) -> None:
    """The registry's patients of a poll, in one statement: per account the highest revision
    of the poll, kept only when higher than the one on file."""
    now = datetime.now(UTC)
    rows = [registry_row(e.data, now) for e in events if isinstance(e.data, PatientUpdated)]
    await store.keep_registry(session, rows)


async def parties_of(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, Parties]:
    """Who each account's patient and guarantor are (accounts nobody told us about are
    missing). The registry outranks the EHR once it has spoken of a patient: staff typed and
    checked it (and a 271 disagreement lands there), while an encounter carries whatever the
    visit's intake had, so an encounter arriving after a move must not put the old address
    back. Patients the registry never named keep their latest encounter's."""
    found = {
        r.account_id: Parties(r.patient, r.guarantor, r.relationship)
        for r in await store.registry(session, account_ids)
    }
    missing = [a for a in account_ids if a not in found]
    if missing:
        for r in await store.newest(session, missing):
            found[r.account_id] = Parties(r.patient, r.guarantor, r.relationship)
    return found
