"""Tickets: billing inquiries and disputes from patients and client practices — their channel,
category, the account, claims and statements they concern, assignment, status, notes and
resolution codes, and the account hold a dispute places until it is resolved."""
