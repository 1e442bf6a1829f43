"""The directory's use cases: write and read recipients and preferences, and look up everyone a
poll of events may notify."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.recipients import store
from services.notifications.recipients.domain import Directory, Listed, Target, preference_errors
from services.notifications.recipients.schemas import PreferenceRule, PreferencesIn, QuietHours, RecipientIn
from services.notifications.recipients.tables import Preference, Recipient
from shared.problems import ProblemError, invalid


async def put_recipient(session: AsyncSession, recipient_id: str, body: RecipientIn) -> Recipient:
    """Create or replace a recipient; its kind (patient or staff) never changes."""
    now = datetime.now(UTC)
    async with session.begin():
        found = await store.get(session, recipient_id, for_update=True)
        if found is None:
            found = Recipient(id=recipient_id, created_at=now, updated_at=now, **body.model_dump())
            store.add(session, found)
        else:
            if found.kind != body.kind:
                raise invalid(("body.kind", "immutable", "A recipient's kind cannot change."))
            for name, value in body.model_dump().items():
                setattr(found, name, value)
            found.updated_at = now
    return found


async def recipient_or_404(session: AsyncSession, recipient_id: str) -> Recipient:
    found = await store.get(session, recipient_id)
    if found is None:
        raise ProblemError(404, "not-found", "Not found", "No such recipient.")
    return found


async def known_recipient(session: AsyncSession, recipient_id: str) -> Recipient:
    """The recipient a sub-resource belongs to; 422 naming the path when unknown (the parent
    must be created first, so this is bad input rather than a missing resource)."""
    found = await store.get(session, recipient_id)
    if found is None:
        raise invalid(
            ("path.recipient_id", "unknown_recipient", "No such recipient."),
            detail="Create the recipient with PUT /v1/recipients/{id} first.",
        )
    return found


async def is_known(session: AsyncSession, recipient_id: str) -> bool:
    return await store.get(session, recipient_id) is not None


async def replace_preferences(session: AsyncSession, recipient: Recipient, body: PreferencesIn) -> None:
    """Replace the recipient's rules, after checking each fits the recipient's kind."""
    errors = preference_errors(recipient.kind, ((r.category, r.channel) for r in body.rules))
    if errors:
        raise invalid(*errors)
    await store.replace_preferences(
        session,
        recipient.id,
        [
            Preference(
                recipient_id=recipient.id,
                category=rule.category,
                channel=rule.channel,
                opt_in=rule.opt_in,
                quiet_start=rule.quiet_hours.start if rule.quiet_hours else None,
                quiet_end=rule.quiet_hours.end if rule.quiet_hours else None,
            )
            for rule in body.rules
        ],
    )
    await session.commit()


async def preference_rules(session: AsyncSession, recipient_id: str) -> list[PreferenceRule]:
    return [
        PreferenceRule(
            category=p.category,  # type: ignore[arg-type]
            channel=p.channel,  # type: ignore[arg-type]
            opt_in=p.opt_in,
            quiet_hours=QuietHours(start=p.quiet_start, end=p.quiet_end)
            if p.quiet_start and p.quiet_end
            else None,
        )
        for p in await store.preferences(session, recipient_id)
    ]


async def directory(
    session: AsyncSession,
    *,
    categories: Iterable[str],
    patients: Iterable[str],
    staff: bool,
    roles: Iterable[str],
    payers: Iterable[str],
    staff_ids: Iterable[str] = (),
) -> Directory:
    """The recipients and preferences a poll of events needs, read in one query."""
    rows = await store.directory_rows(
        session,
        categories=sorted(categories),
        patients=sorted(patients),
        staff=staff,
        roles=sorted(roles),
        payers=sorted(payers),
        staff_ids=sorted(staff_ids),
    )
    found = Directory()
    for r in rows:
        book = found.staff if r.kind == "staff" else found.patients
        listed = book.get(r.id)
        if listed is None:
            listed = book[r.id] = Listed(Target(r.id, r.email, r.phone, r.timezone), r.roles, r.payer_ids)
        if r.channel is not None:
            listed.prefs[r.category, r.channel] = (r.opt_in, r.quiet_start, r.quiet_end)
    return found
