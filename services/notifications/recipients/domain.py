"""Who hears about what: categories, staff roles, channels, quiet hours, and the directory rules.

A category groups messages a recipient can opt in to or out of (preferences are per category
and channel). `required` categories are notices the law makes the practice send (a collections
referral notice): they go out despite an opt-out, though still never outside quiet hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Channel = Literal["email", "sms", "inbox"]
# Push channels a worker delivers through a provider; the inbox is written by the event handler.
PUSH_CHANNELS: tuple[Channel, ...] = ("email", "sms")

RecipientKind = Literal["patient", "staff"]
StaffRole = Literal["billing", "coding", "front_desk", "manager"]


@dataclass(frozen=True)
class Category:
    name: str
    audience: RecipientKind
    description: str
    required: bool = False
    # Staff roles that receive this category by default (staff categories only).
    roles: tuple[str, ...] = ()


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category("receipts", "patient", "Payment receipts and balances after insurance paid."),
        Category("statements", "patient", "A new statement is ready."),
        Category("payment_plans", "patient", "Installment reminders."),
        Category("late_payments", "patient", "A missed installment or a balance past due."),
        Category("coverage", "patient", "Coverage problems found before a visit."),
        Category(
            "collections",
            "patient",
            "The notice the law requires when an account is referred to a collection agency.",
            required=True,
        ),
        Category("denials", "staff", "Denied claims to work.", roles=("billing", "manager")),
        Category("rejections", "staff", "Claims rejected by front-end edits.", roles=("billing", "coding")),
        Category("followups", "staff", "Claims with no payer answer in time.", roles=("billing",)),
        Category("underpayments", "staff", "Payers paying below contract.", roles=("billing", "manager")),
        Category(
            "authorizations", "staff", "Authorizations about to expire.", roles=("front_desk", "manager")
        ),
        # The front office (issue 19): tickets go to the staff member they name (no role gets
        # them all); patients hear their inquiry was resolved, or their assistance approved.
        Category(
            "tickets", "staff", "Tickets assigned to you, or escalated to you past their service level."
        ),
        Category("inquiries", "patient", "Your billing inquiry or dispute was resolved."),
        Category("assistance", "patient", "Your financial assistance application was decided."),
    )
}


def preference_errors(kind: str, rules: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(field, rule, message) for each (category, channel) rule that does not fit a recipient of
    `kind`: a category meant for the other audience, or a second rule for one pair."""
    errors: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for i, (category, channel) in enumerate(rules):
        audience = CATEGORIES[category].audience
        if audience != kind:
            errors.append(
                (f"body.rules.{i}.category", "not_for_recipient", f"This category is for {audience}s.")
            )
        if (category, channel) in seen:
            errors.append((f"body.rules.{i}", "duplicate", "One rule per category and channel."))
        seen.add((category, channel))
    return errors


def quiet_until(now: datetime, start: time | None, end: time | None, tz: str) -> datetime | None:
    """When quiet hours (local time, may wrap midnight) end, if `now` falls inside them."""
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


# (opt_in, quiet_start, quiet_end) of one category on one channel.
Pref = tuple[bool, time | None, time | None]


@dataclass
class Target:
    """A recipient as a message needs it: addresses, time zone, one category's preferences."""

    id: str
    email: str | None = None
    phone: str | None = None
    timezone: str = "UTC"
    prefs: dict[str, Pref] = field(default_factory=dict)  # channel → preference


@dataclass
class Listed:
    """A directory entry as the poll's one directory query returned it."""

    target: Target
    roles: list[str]
    payer_ids: list[str]
    prefs: dict[tuple[str, str], Pref] = field(default_factory=dict)  # (category, channel) → preference

    def for_category(self, category: str) -> Target:
        t = self.target
        prefs = {channel: pref for (cat, channel), pref in self.prefs.items() if cat == category}
        return Target(t.id, t.email, t.phone, t.timezone, prefs)


@dataclass
class Directory:
    """The part of the directory one poll of events needs: patients by id and candidate staff."""

    patients: dict[str, Listed] = field(default_factory=dict)
    staff: dict[str, Listed] = field(default_factory=dict)

    def patient(self, patient_id: str, category: str) -> Target:
        """The patient (known or not: one not in the directory has the in-app inbox only)."""
        listed = self.patients.get(patient_id)
        return Target(patient_id) if listed is None else listed.for_category(category)

    def staff_named(self, staff_ids: Iterable[str], category: str) -> list[Target]:
        """The staff members a message names (a ticket's assignee), once each; one not in the
        directory has the in-app inbox only."""
        found: list[Target] = []
        for staff_id in dict.fromkeys(staff_ids):
            listed = self.staff.get(staff_id)
            found.append(Target(staff_id) if listed is None else listed.for_category(category))
        return found

    def staff_for(self, category: str, payer_id: str | None) -> list[Target]:
        """The staff whose roles receive `category`, or who subscribed to `payer_id`."""
        roles = CATEGORIES[category].roles
        return [
            s.for_category(category)
            for s in self.staff.values()
            if any(role in roles for role in s.roles) or (payer_id is not None and payer_id in s.payer_ids)
        ]
