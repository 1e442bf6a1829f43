"""Claim flags: the open claims a coverage change affects (coverage.updated's `changes`), each
with the action suggested to staff — a corrected member id suggests a corrected claim
(frequency 7), a retroactive termination suggests billing the payer now in force — listed per
claim and as a work list, and resolved or dismissed with a note (sending the correction
resolves the member id flags of the claim it replaces)."""
