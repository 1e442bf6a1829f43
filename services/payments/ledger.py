"""Transitional: the ledger moved to `services.payments.accounts` (store: append, lock_account,
open_items; domain: Entry, OpenItem). Kept only so the remittance side imports keep working
until it imports those directly; delete it then."""

from services.payments.accounts.domain import Entry, OpenItem
from services.payments.accounts.store import append, lock_account, open_items

__all__ = ["Entry", "OpenItem", "append", "lock_account", "open_items"]
