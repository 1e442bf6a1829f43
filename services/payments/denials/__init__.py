"""Denied balances: what payers denied on a claim stays in insurance A/R (shared.receivables)
until it is worked; here it is written off (with a second person's approval) or billed to the
patient (group PR only), and claims is told (denial.resolved)."""
