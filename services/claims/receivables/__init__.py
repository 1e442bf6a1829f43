"""Claims' A/R: what each claim's payer still owes, kept as rows that mirror payments' insurance
ledger (by the rule both follow, shared.receivables), so that claims' A/R reports agree with
payments' insurance A/R to the cent."""
