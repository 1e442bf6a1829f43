"""Collections: referring an account to the practice's agency at the end of its dunning
sequence, what the agency gets (the minimum necessary to collect: who owes, for which visits,
each charge and payment, the insurer billed), recalling an account when a payment or a dispute
arrives after referral, and disputes, which pause dunning."""
