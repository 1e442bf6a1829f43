"""Money reports over the ledger: the net collection rate and open receivables by who owes them."""
