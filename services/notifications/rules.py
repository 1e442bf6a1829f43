"""Who hears about what: categories, staff roles and the channels a message may use.

A category groups messages a recipient can opt in to or out of (preferences are per category
and channel). `required` categories are notices the law makes the practice send (a collections
referral notice): they go out despite an opt-out, though still never outside quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Channel = Literal["email", "sms", "inbox"]
# Push channels a worker delivers through a provider; the inbox is written in the handler.
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
    )
}
