"""What a hold keeps an account from, without I/O."""

from __future__ import annotations

from dataclasses import dataclass, field


def keeps_from(reason: str, holds_statements: bool, holds_collections: bool) -> tuple[bool, bool]:
    """(statements, collections) a hold keeps the account from. A dispute keeps it from both
    whatever the event says (FDCPA: a disputed debt is not collected, nor billed as owed,
    until it is answered); assistance and financing holds keep it from what their event says
    (the front office sends collections only), and anything held from statements is held from
    collections too."""
    if reason == "dispute":
        return True, True
    return holds_statements, holds_collections or holds_statements


@dataclass(frozen=True)
class Held:
    """Which accounts wait for what: `statements` get no statement or dunning step at all;
    `collections` (a superset) take no step toward the agency: no final notice, no referral."""

    statements: set[str] = field(default_factory=set)
    collections: set[str] = field(default_factory=set)

    def from_step(self, account_id: str, kind: str | None) -> bool:
        """Whether the account waits instead of taking a dunning step of `kind`."""
        if account_id in self.statements:
            return True
        return kind in ("final_notice", "collections") and account_id in self.collections
