"""Discrepancies: what a payer's 271 says differently from the registry copy a check was built
from (names, birth date, sex, address, member id, other payers on file), published once per
check as eligibility.discrepancy_found for the front office's staff to accept or reject."""
