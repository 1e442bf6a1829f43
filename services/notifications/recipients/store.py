"""All of the directory's SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlmodel import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.recipients.tables import Preference, Recipient


async def get(session: AsyncSession, recipient_id: str, *, for_update: bool = False) -> Recipient | None:
    return await session.get(Recipient, recipient_id, with_for_update=for_update)


def add(session: AsyncSession, recipient: Recipient) -> None:
    session.add(recipient)


async def replace_preferences(session: AsyncSession, recipient_id: str, prefs: Sequence[Preference]) -> None:
    """The recipient's whole set of preferences becomes `prefs` (flushed with the session)."""
    await session.exec(delete(Preference).where(Preference.recipient_id == recipient_id))  # type: ignore[call-overload]
    session.add_all(prefs)


async def preferences(session: AsyncSession, recipient_id: str) -> Sequence[Preference]:
    return (await session.exec(select(Preference).where(Preference.recipient_id == recipient_id))).all()


# Everyone a poll's plans may name, in one statement: the patients by id, and the staff whose
# roles or payer subscriptions match any staff plan (each plan picks its own afterwards), with
# their preferences for every category of the poll.
_RECIPIENTS = (
    "SELECT r.id, r.kind, r.email, r.phone, r.timezone, r.roles, r.payer_ids, "
    "p.category, p.channel, p.opt_in, p.quiet_start, p.quiet_end "
    "FROM recipients r LEFT JOIN preferences p "
    "ON p.recipient_id = r.id AND p.category = ANY (CAST(:categories AS text[])) "
)
_PATIENTS = f"{_RECIPIENTS}WHERE r.kind = 'patient' AND r.id = ANY (CAST(:patients AS text[]))"
_STAFF = (
    f"{_RECIPIENTS}WHERE r.kind = 'staff' "
    "AND (r.roles && CAST(:roles AS text[]) OR r.payer_ids && CAST(:payers AS text[]) "
    "OR r.id = ANY (CAST(:staff_ids AS text[])))"
)
_DIRECTORY = {
    (True, False): text(_PATIENTS),
    (False, True): text(_STAFF),
    (True, True): text(f"{_PATIENTS} UNION ALL {_STAFF}"),
}


async def directory_rows(
    session: AsyncSession,
    *,
    categories: list[str],
    patients: list[str],
    staff: bool,
    roles: list[str],
    payers: list[str],
    staff_ids: list[str] | None = None,
) -> Sequence[Row[Any]]:
    """One row per (recipient, preference of those categories), or per recipient without any:
    the `patients` by id, and when `staff`, the staff with one of `roles` or `payers`, or named
    by id in `staff_ids`."""
    if not patients and not staff:
        return []
    params = {
        "categories": categories,
        "patients": patients,
        "roles": roles,
        "payers": payers,
        "staff_ids": staff_ids or [],
    }
    return (await session.execute(_DIRECTORY[bool(patients), staff], params)).all()
