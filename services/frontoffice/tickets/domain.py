"""The rules of a ticket, without I/O: its status machine, the resolution codes, and when a
ticket holds its account.

Status moves (anything else is a 409 naming the move):

    new ──► open ──► waiting_on_patient / waiting_on_payer ──► open
     │        │                  │
     └────────┴──────────────────┴──► resolved ──► closed
                                          │
                                          └──► open (reopened)

`new` is a ticket nobody has taken yet: assigning it opens it. A ticket is resolved only
with a resolution code (POST /resolve), never by a bare status move, so every resolved
ticket says how it ended. `closed` is final: a closed ticket is history; a new question is a
new ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Status = Literal["new", "open", "waiting_on_patient", "waiting_on_payer", "resolved", "closed"]
STATUSES: tuple[str, ...] = get_args(Status)
OPEN_STATUSES: tuple[str, ...] = ("new", "open", "waiting_on_patient", "waiting_on_payer")

# Moves a status change (POST /status) may make; `resolved` is reached through /resolve only.
MOVES: dict[str, frozenset[str]] = {
    "new": frozenset({"open"}),
    "open": frozenset({"waiting_on_patient", "waiting_on_payer"}),
    "waiting_on_patient": frozenset({"open", "waiting_on_payer"}),
    "waiting_on_payer": frozenset({"open", "waiting_on_patient"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}


def can_move(current: str, target: str) -> bool:
    """Whether a status change from `current` to `target` is allowed."""
    return target in MOVES.get(current, frozenset())


def can_resolve(current: str) -> bool:
    """Any open ticket (new included: a duplicate is resolved without being worked)."""
    return current in OPEN_STATUSES


def is_reopen(current: str, target: str) -> bool:
    return current == "resolved" and target == "open"


@dataclass(frozen=True)
class Resolution:
    code: str
    description: str


RESOLUTIONS: dict[str, Resolution] = {
    r.code: r
    for r in (
        Resolution("explained", "The balance or the insurer's decision was explained; nothing changed."),
        Resolution("corrected", "Our error was corrected (a claim rebilled, a statement reissued)."),
        Resolution("adjusted", "The balance was adjusted (a write-off, a discount, a payment applied)."),
        Resolution("refunded", "An overpayment was refunded to the patient or the payer."),
        Resolution("upheld", "A dispute was reviewed and the balance upheld; the account continues."),
        Resolution("withdrawn", "The requester withdrew the inquiry or the dispute."),
        Resolution("duplicate", "Another ticket covers the same question."),
        Resolution("referred", "Sent where it belongs: the payer, the practice, financial assistance."),
        Resolution("arrangement_made", "A payment plan or arrangement was set up."),
        Resolution("no_response", "The requester did not answer our questions in time."),
    )
}
ResolutionCode = Literal[
    "explained", "corrected", "adjusted", "refunded", "upheld", "withdrawn", "duplicate", "referred",
    "arrangement_made", "no_response",
]  # fmt: skip
assert set(get_args(ResolutionCode)) == set(RESOLUTIONS)


def holds_account(category: str, account_id: str | None) -> bool:
    """A dispute about an account keeps the account out of statements and collections while it
    is open (FDCPA § 1692g(b): a disputed debt is not collected until it is answered)."""
    return category == "dispute" and account_id is not None


def ticket_number(n: int) -> str:
    """What staff and patients quote: T-000123 (six digits, more once past a million)."""
    return f"T-{n:06d}"
