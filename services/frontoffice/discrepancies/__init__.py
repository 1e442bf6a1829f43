"""Where a payer's 271 disagrees with the registry (eligibility.discrepancy_found): the open
list staff work, accepting (the payer's values applied through the registry's one change
command, reason payer_271) or rejecting with a note."""
