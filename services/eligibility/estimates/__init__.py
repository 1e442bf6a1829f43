"""Estimates: what the patient will likely owe for a visit, with the arithmetic shown.

Inputs are the verified benefits of a completed check (copay, deductible remaining,
coinsurance and out-of-pocket remaining for a service type and network) and the payer's
allowed amounts. Allowed amounts come from `fee_schedule.updated` events (this service
keeps its own copy, newest effective date on or before the date of service wins), and from
the default fee schedule file (data/fee_schedule.json) for what no event has covered yet.
"""
