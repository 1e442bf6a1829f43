"""Reconciliation: deposits (BPR amount and trace number) against what was posted, and the
cash not yet applied (remittance claims still unmatched, patient credit)."""
