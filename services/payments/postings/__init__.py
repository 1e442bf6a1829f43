"""Applying an 835's money: each remittance claim posted to its claim (ledger entries, a
`claim_postings` row, `payment.posted`, underpayments) or parked in the unmatched queue
until a claim is found for it, by hand or when its `claim.submitted` arrives."""
