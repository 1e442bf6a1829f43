"""The directory's request and response models. Contact details are PHI: validation errors name
the field and rule, never the value."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.notifications.recipients.domain import CATEGORIES, RecipientKind, StaffRole

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
    "tickets", "inquiries", "assistance",
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
