"""A scanner for protected health information in outgoing email and SMS text.

Email and SMS leave the practice's systems, so they may carry an amount, a date, the
practice's name and a sign-in link, never a diagnosis, a procedure code or a full member id.
The templates are written that way and a test proves it for every template; this scan is
also the last check before a send (a hit fails the delivery instead of sending it).
It reports the kind of leak, never the leaked value, so its output is safe to log.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable

with warnings.catch_warnings():
    # The code set loads its data through a deprecated importlib.resources call.
    warnings.simplefilter("ignore", DeprecationWarning)
    import simple_icd_10_cm as icd10

# ICD-10-CM shape (letter, digit, digit or letter, optional dot and 1-4 more); a token of
# that shape counts only when the code set knows it, so "R-2026" or "SBX001" do not.
_ICD10_SHAPE = re.compile(r"\b[A-TV-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?\b")
# CPT (five digits, category II/III end in F/T) and HCPCS level II (a letter and four digits).
_CPT = re.compile(r"(?<![\d$,.])\b\d{4}[0-9FT]\b(?![.,]\d)")
_HCPCS = re.compile(r"\b[A-V]\d{4}\b")
# Member ids: the sandbox payers' format, and anything introduced as a member/subscriber id.
_MEMBER_ID = re.compile(
    r"\bSBX\d{5}S?\b|\b(?:member|subscriber|policy)\s*(?:id|number|#)\s*[:#]?\s*[A-Z0-9\-]{4,}", re.I
)
_DOB = re.compile(r"\b(?:date of birth|DOB|born)\b", re.I)


def find_phi(text: str, forbidden: Iterable[str] = ()) -> list[str]:
    """The kinds of PHI found in `text` (empty when clean).

    `forbidden` adds exact values that must not appear (e.g. the sample patient's name and
    birth date in tests).
    """
    kinds: list[str] = []
    if any(icd10.is_valid_item(m.group(0)) for m in _ICD10_SHAPE.finditer(text)):
        kinds.append("diagnosis_code")
    if _CPT.search(text) or _HCPCS.search(text):
        kinds.append("procedure_code")
    if _MEMBER_ID.search(text):
        kinds.append("member_id")
    if _DOB.search(text):
        kinds.append("birth_date")
    lowered = text.lower()
    if any(value and value.lower() in lowered for value in forbidden):
        kinds.append("forbidden_value")
    return kinds
