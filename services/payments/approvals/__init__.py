"""Second-person approval: money moves that a practice will not let one person make alone
(large adjustments and write-offs, writing off a denial, matching a remittance to another
payer's claim) wait here as a stored command until someone else approves or rejects it."""
