"""Coverage checks: build a 270, ask the payer, read the 271, keep the answer, tell others.

A check is a row in `checks`. It is created `pending`, and whoever holds its lease runs it:
the request that created it (for up to its budget), or the background worker (batches,
checks whose request stopped waiting, and checks whose process died). Running a check
first looks for a recent answer for the same member, payer, service types and date (the
payer's cache TTL); otherwise it calls the payer. Its end state, the encrypted raw 270/271
and the `eligibility.checked` event commit in one transaction.
"""
