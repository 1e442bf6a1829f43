"""Possible duplicate payments: an 835 claim whose adjudication (payer, CLP01, CLP07) is
already posted and not reversed, arriving again in another file or under another trace, is
parked here with both remittances instead of being counted twice; staff post it after all,
record the payer's overpayment as a payer credit balance (taken back by a later 835, or
refunded), or dismiss it when the payer sent the 835 twice but the money once."""
