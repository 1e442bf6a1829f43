"""Prior-authorization rules with no I/O: what an authorization covers, which services need
one, the scrubber's edit, and the numbers a claim goes out with.

- A service needs authorization when the payer lists its code (data/payers.json) or the
  latest 271 flagged its service type (005010X279A1 loop 2110C EB11 = "Y"; the code's service
  type from data/codes.json `service_type_by_code`).
- An authorization covers a line when it is a prior authorization (a referral is not), names
  the line's code or service type (naming neither covers any service), the line's date is in
  its dates, and it has a visit left — unless the claim's visit was counted already (a claim
  sent again, or its correction), which must not be held by its own visit.
- The number goes on the claim (837P 005010X222A1 loop 2300 REF*G1) when every line has the
  same one, else on each line that has one (loop 2400 REF*G1, "when it differs from the one
  reported at the claim level").
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from services.claims.claims.schemas import ClaimData, LineIn
from services.claims.reference import store as reference

Hit = tuple[str, str]  # (field, message), as the scrubber's checks yield them


def service_type_of(code: str | None) -> str | None:
    """The X12 service type a procedure falls under (data/codes.json), for prior-auth rules;
    none for an institutional line without a HCPCS (priced by its revenue code)."""
    if not code:
        return None
    for rule in reference.codes().get("service_type_by_code", []):
        if rule["from"] <= code <= rule["to"]:
            return str(rule["service_type"])
    return None


@dataclass(frozen=True)
class AuthorizationFact:
    """Our copy of one authorization, as the rules read it."""

    number: str
    service_codes: tuple[str, ...]
    start_date: date
    end_date: date
    visits_allowed: int | None
    visits_used: int
    kind: str = "prior_authorization"
    service_type_codes: tuple[str, ...] = ()

    def names(self, code: str) -> bool:
        """It names this service: by its code, or by its service type."""
        return code in self.service_codes or service_type_of(code) in self.service_type_codes

    def covers(self, code: str) -> bool:
        """A prior authorization for this service (naming no service covers every service)."""
        if self.kind != "prior_authorization":
            return False
        return self.names(code) or not (self.service_codes or self.service_type_codes)

    def valid_on(self, day: date, *, visit_counted: bool) -> bool:
        """In force that day with a visit left (or this claim's visit already counted)."""
        visits_left = self.visits_allowed is None or self.visits_used < self.visits_allowed
        return self.start_date <= day <= self.end_date and (visit_counted or visits_left)


@dataclass(frozen=True)
class Rules:
    """What decides whether a claim's services need authorization, and how visits count."""

    payer_codes: Collection[str]  # the payer's prior_auth_codes
    flagged_types: Collection[str]  # service types the latest 271 flagged (EB11 = Y)
    visit_counted: bool = False  # the claim's visit was counted already (sent before, or a correction)

    def needs(self, code: str) -> bool:
        return code in self.payer_codes or service_type_of(code) in self.flagged_types


def candidates(facts: Sequence[AuthorizationFact], code: str) -> list[AuthorizationFact]:
    """The prior authorizations on file covering this service: those naming it first, then
    the most recent."""
    found = [a for a in facts if a.covers(code)]
    return sorted(found, key=lambda a: (not a.names(code), -a.start_date.toordinal()))


def covering(
    facts: Sequence[AuthorizationFact], line: LineIn, number: str | None, rules: Rules
) -> AuthorizationFact | None:
    """The valid authorization for the line: the one with `number` when a number is given."""
    for auth in candidates(facts, line.code):
        if (number is None or auth.number == number) and auth.valid_on(
            line.date_of_service, visit_counted=rules.visit_counted
        ):
            return auth
    return None


def _typed(data: ClaimData, line: LineIn) -> str | None:
    return line.prior_authorization_number or data.prior_authorization_number


def missing(data: ClaimData, facts: Sequence[AuthorizationFact], rules: Rules) -> Iterator[Hit]:
    """The scrubber's edit: each line whose service needs authorization and that no valid
    authorization on file covers (a number typed on the claim must be that authorization)."""
    if data.frequency_code == "8":
        return  # a void bills nothing
    for i, line in enumerate(data.lines):
        if not rules.needs(line.code):
            continue
        typed = _typed(data, line)
        if covering(facts, line, typed, rules) is not None:
            continue
        named = [a for a in candidates(facts, line.code) if typed is None or a.number == typed]
        if typed is not None and not named:
            message = (
                f"Line {i + 1}: authorization {typed} is not on file for this service; record it in "
                "eligibility (POST /v1/authorizations) or correct the number."
            )
        elif named:
            which = f" {typed}" if typed else ""
            message = (
                f"Line {i + 1}: the authorization on file{which} does not cover this date (expired or "
                "used up); get an extension or a new authorization."
            )
        else:
            message = f"Line {i + 1}: the payer requires prior authorization and none is on file."
        yield f"lines.{i}.code", message


def attach(data: ClaimData, facts: Sequence[AuthorizationFact], rules: Rules) -> ClaimData:
    """The claim as it is sent: a line with no number gets the valid authorization covering
    it (when its service needs one, or the authorization names it); one number for every
    line goes on the claim (2300), otherwise each line keeps its own (2400). Typed numbers stay."""
    numbers: list[str | None] = []
    for line in data.lines:
        typed = _typed(data, line)
        found = None if typed else covering(facts, line, None, rules)
        if found is not None and not (rules.needs(line.code) or found.names(line.code)):
            found = None
        numbers.append(typed or (found.number if found else None))
    claim_number = data.prior_authorization_number
    if claim_number is None and numbers[0] is not None and len(set(numbers)) == 1:
        claim_number = numbers[0]
    lines = [
        line.model_copy(update={"prior_authorization_number": n if n != claim_number else None})
        for line, n in zip(data.lines, numbers, strict=True)
    ]
    return data.model_copy(update={"prior_authorization_number": claim_number, "lines": lines})
