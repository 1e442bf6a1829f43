"""Check digits of the identifiers every part meets on the wire.

One implementation, because eligibility (request validation), claims (422s and the scrubber's
edit), the payer sandbox (277CA front-end edits) and its EHR generator must agree on which
NPI is valid.
"""

from __future__ import annotations

# CMS assigned NPIs the card-issuer prefix 80840, so the Luhn check digit is computed over
# "80840" + the first nine digits.
_NPI_PREFIX = "80840"


def npi_check_digit(first_nine: str) -> int:
    """The tenth digit of an NPI whose first nine digits are given."""
    total = 0
    for i, c in enumerate(reversed(_NPI_PREFIX + first_nine)):
        d = int(c)
        if i % 2 == 0:  # every second digit from the right, starting with the rightmost payload digit
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    """10 digits whose last is the Luhn check digit over 80840 + the first nine."""
    return len(npi) == 10 and npi.isdigit() and npi_check_digit(npi[:9]) == int(npi[9])
