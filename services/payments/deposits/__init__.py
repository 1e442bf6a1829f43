"""Bank deposits: BAI2 (or CSV) bank files kept as received and read into the credits and
debits the bank reported, each with the reference it can be reconciled by (an EFT's trace, a
check number, a card settlement batch)."""
