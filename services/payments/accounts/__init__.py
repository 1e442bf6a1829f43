"""Patient accounts: the append-only ledger (how money is written) and everything derived
from it (balance, insurance pending, patient due, open items, aging), plus manual charges
and adjustments."""
