"""The recipients directory and their preferences.

Patients (recipient id = patient/account id) have contact channels; staff members have roles
and optional payer subscriptions (a staff member subscribed to a payer hears about every staff
event of that payer, on top of what their roles bring). Preferences say, per category and
channel, opt-in or out and quiet hours. Contact details are PHI: reads and writes are audited,
and errors name the field and rule, never the value.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import delete, select

from services.notifications.models import Preference, Recipient
from services.notifications.rules import CATEGORIES, RecipientKind, StaffRole
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import ProblemError, invalid

RecipientId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._:\-]{1,64}$", description="Patient/account id, or a staff id.")
]
# Dot-atom local part and DNS labels: what SMTP servers accept in practice (RFC 5321/5322).
EMAIL = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
E164 = r"^\+[1-9]\d{6,14}$"

CategoryName = Literal[
    "receipts", "statements", "payment_plans", "late_payments", "coverage", "collections",
    "denials", "rejections", "followups", "underpayments", "authorizations",
]  # fmt: skip
assert set(CategoryName.__args__) == set(CATEGORIES)  # type: ignore[attr-defined]


class RecipientIn(BaseModel):
    """A patient with contact channels, or a staff member with roles and payer subscriptions."""

    model_config = ConfigDict(extra="forbid")

    kind: RecipientKind
    email: Annotated[str, Field(max_length=254, pattern=EMAIL)] | None = None
    phone: Annotated[str, Field(pattern=E164, description="E.164, e.g. +15555550123.")] | None = None
    timezone: str = Field(default="UTC", max_length=64, description="IANA zone for quiet hours.")
    roles: list[StaffRole] = Field(default_factory=list, max_length=4)
    payer_ids: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")]] = Field(
        default_factory=list,
        max_length=50,
        description="Staff: hear about every staff event of these payers.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("Unknown IANA time zone.") from exc
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> RecipientIn:
        if self.kind == "patient" and (self.roles or self.payer_ids):
            raise ValueError("Patients have no roles or payer subscriptions.")
        if self.kind == "staff" and not (self.roles or self.payer_ids):
            raise ValueError("A staff member needs a role or a payer subscription.")
        return self


class RecipientOut(RecipientIn):
    id: str
    created_at: datetime
    updated_at: datetime


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: time = Field(description="Local time quiet hours begin, e.g. 21:00.")
    end: time = Field(description="Local time they end, e.g. 08:00 (may be the next day).")


class PreferenceRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: CategoryName
    channel: Literal["email", "sms"] = Field(description="The in-app inbox is always on.")
    opt_in: bool
    quiet_hours: QuietHours | None = None


class PreferencesIn(BaseModel):
    """The recipient's whole set of rules; missing (category, channel) pairs are opted in."""

    model_config = ConfigDict(extra="forbid")

    rules: list[PreferenceRule] = Field(max_length=100)


class PreferencesOut(PreferencesIn):
    recipient_id: str


router = APIRouter(prefix="/v1/recipients", tags=["recipients"])


def _out(r: Recipient) -> RecipientOut:
    return RecipientOut.model_validate(r, from_attributes=True)


@router.put("/{recipient_id}", response_model=RecipientOut, summary="Create or replace a recipient")
async def put_recipient(
    recipient_id: RecipientId,
    body: RecipientIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("recipient", "update", require_scopes("notifications:write"))],
) -> RecipientOut:
    trail.resource_id = recipient_id
    if body.kind == "patient":
        trail.patient_id = recipient_id
    now = datetime.now(UTC)
    async with session.begin():
        found = await session.get(Recipient, recipient_id, with_for_update=True)
        if found is None:
            found = Recipient(id=recipient_id, created_at=now, updated_at=now, **body.model_dump())
            session.add(found)
        else:
            if found.kind != body.kind:
                raise invalid(("body.kind", "immutable", "A recipient's kind cannot change."))
            for name, value in body.model_dump().items():
                setattr(found, name, value)
            found.updated_at = now
    return _out(found)


async def _existing(session: SessionDep, recipient_id: str) -> Recipient:
    found = await session.get(Recipient, recipient_id)
    if found is None:
        raise invalid(
            ("path.recipient_id", "unknown_recipient", "No such recipient."),
            detail="Create the recipient with PUT /v1/recipients/{id} first.",
        )
    return found


@router.get("/{recipient_id}", response_model=RecipientOut, summary="A recipient's directory entry")
async def get_recipient(
    recipient_id: RecipientId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("recipient", "read", require_scopes("notifications:read"))],
) -> RecipientOut:
    trail.resource_id = recipient_id
    found = await session.get(Recipient, recipient_id)
    if found is None:
        raise ProblemError(404, "not-found", "Not found", "No such recipient.")
    if found.kind == "patient":
        trail.patient_id = recipient_id
    return _out(found)


@router.put(
    "/{recipient_id}/preferences", response_model=PreferencesOut, summary="Replace a recipient's preferences"
)
async def put_preferences(
    recipient_id: RecipientId,
    body: PreferencesIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("preferences", "update", require_scopes("notifications:write"))],
) -> PreferencesOut:
    trail.resource_id = recipient_id
    recipient = await _existing(session, recipient_id)
    if recipient.kind == "patient":
        trail.patient_id = recipient_id
    errors: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for i, rule in enumerate(body.rules):
        if CATEGORIES[rule.category].audience != recipient.kind:
            audience = CATEGORIES[rule.category].audience
            errors.append(
                (f"body.rules.{i}.category", "not_for_recipient", f"This category is for {audience}s.")
            )
        if (rule.category, rule.channel) in seen:
            errors.append((f"body.rules.{i}", "duplicate", "One rule per category and channel."))
        seen.add((rule.category, rule.channel))
    if errors:
        raise invalid(*errors)
    await session.exec(delete(Preference).where(Preference.recipient_id == recipient_id))  # type: ignore[call-overload]
    for rule in body.rules:
        session.add(
            Preference(
                recipient_id=recipient_id,
                category=rule.category,
                channel=rule.channel,
                opt_in=rule.opt_in,
                quiet_start=rule.quiet_hours.start if rule.quiet_hours else None,
                quiet_end=rule.quiet_hours.end if rule.quiet_hours else None,
            )
        )
    await session.commit()
    return PreferencesOut(recipient_id=recipient_id, rules=body.rules)


@router.get("/{recipient_id}/preferences", response_model=PreferencesOut, summary="A recipient's preferences")
async def get_preferences(
    recipient_id: RecipientId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("preferences", "read", require_scopes("notifications:read"))],
) -> PreferencesOut:
    trail.resource_id = recipient_id
    await _existing(session, recipient_id)
    rows = (await session.exec(select(Preference).where(Preference.recipient_id == recipient_id))).all()
    rules = [
        PreferenceRule(
            category=p.category,  # type: ignore[arg-type]
            channel=p.channel,  # type: ignore[arg-type]
            opt_in=p.opt_in,
            quiet_hours=QuietHours(start=p.quiet_start, end=p.quiet_end)
            if p.quiet_start and p.quiet_end
            else None,
        )
        for p in rows
    ]
    return PreferencesOut(recipient_id=recipient_id, rules=rules)
