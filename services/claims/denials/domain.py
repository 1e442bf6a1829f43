"""The rules of working a denial, with no I/O: which adjustments are denials, what to do about
one (from the group code, the CARC and the RARCs, with why), and what an appeal letter says.

835 005010X221A1 CAS01 is the group code, and it decides who may be billed: CO (contractual
obligation) and PI (payer initiated) are the provider's, OA (other) is nobody's yet, only PR
(patient responsibility) may go to the patient. The table (data/denial_actions.csv) is checked
against that when it is loaded, so a row billing the patient for a CO denial stops the
service at start instead of reaching a patient's statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from services.claims.claims.schemas import ClaimData
from shared import receivables

GROUP_CODES = ("CO", "PR", "OA", "PI", "CR")
ACTIONS = ("correct_and_resubmit", "appeal", "bill_patient", "bill_other_payer", "write_off")
NOT_A_DENIAL = "not_a_denial"
ANY = "*"


class Adjusted(Protocol):
    """A CAS adjustment as the events and the API carry it."""

    @property
    def group_code(self) -> str: ...
    @property
    def reason_code(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...


@dataclass(frozen=True)
class Rule:
    """One row of the action table: group code (or *), CARC (or * for the group's default),
    the RARC that decides ("" for any), the action and why."""

    group_code: str
    carc: str
    rarc: str
    action: str
    why: str

    def problem(self) -> str | None:
        """What is wrong with the row under the group-code rules, or None."""
        label = f"{self.group_code},{self.carc},{self.rarc}"
        if self.group_code not in (*GROUP_CODES, ANY):
            return f"{label}: {self.group_code!r} is not a group code"
        if self.action not in (*ACTIONS, NOT_A_DENIAL):
            return f"{label}: {self.action!r} is not an action"
        if not self.why.strip():
            return f"{label}: says no why"
        if self.action == "bill_patient" and self.group_code != "PR":
            return f"{label}: only PR (patient responsibility) may be billed to the patient"
        if self.action == "write_off" and self.group_code != "CO":
            return f"{label}: only CO (contractual obligation) is written off"
        if self.action == NOT_A_DENIAL and (ANY in (self.group_code, self.carc) or self.rarc):
            return f"{label}: not_a_denial needs a group code and a CARC, and no RARC"
        return None


@dataclass(frozen=True)
class Recommendation:
    """What to do about a denial, and why, naming the adjustment and remark that decided it."""

    action: str
    why: str
    group_code: str
    reason_code: str
    remark_code: str | None


class DenialRules:
    """The action table, checked and indexed. The most specific row wins: group+CARC+RARC,
    group+CARC, any group+CARC+RARC, any group+CARC, then the group's default."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        problems = [p for p in (r.problem() for r in self.rules) if p]
        keys = [(r.group_code, r.carc, r.rarc) for r in self.rules]
        problems += [f"{','.join(k)}: more than one row" for k in sorted(set(keys)) if keys.count(k) > 1]
        problems += [f"{g}: no default row ({g},*,)" for g in GROUP_CODES if (g, ANY, "") not in keys]
        named = {(r.group_code, r.carc) for r in self.rules if r.action == NOT_A_DENIAL}
        if named != receivables.NOT_DENIALS:
            problems.append(
                "the not_a_denial rows must name exactly shared.receivables.NOT_DENIALS (the rule "
                f"payments uses too): missing {sorted(receivables.NOT_DENIALS - named)}, "
                f"extra {sorted(named - receivables.NOT_DENIALS)}"
            )
        if problems:
            raise ValueError("denial action table: " + "; ".join(problems))
        self._index = dict(zip(keys, self.rules, strict=True))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> DenialRules:
        """The table from CSV rows (group_code, carc, rarc, action, why)."""
        return cls(
            Rule(
                r["group_code"].strip().upper(),
                r["carc"].strip().upper(),
                (r.get("rarc") or "").strip().upper(),
                r["action"].strip(),
                r["why"].strip(),
            )
            for r in rows
        )

    def rule_for(self, group_code: str, carc: str, remark_codes: Sequence[str]) -> Rule:
        for group in (group_code, ANY):
            for rarc in (*remark_codes, ""):
                rule = self._index.get((group, carc, rarc))
                if rule is not None:
                    return rule
        return self._index[(group_code, ANY, "")]

    def is_denial(self, adj: Adjusted) -> bool:
        """Cost sharing and contractual write-downs are not denials; any other amount is (the
        rule payments applies to its ledger: shared.receivables)."""
        return receivables.is_denial(adj.group_code, adj.reason_code, adj.amount)

    def recommend(self, denied: Sequence[Adjusted], remark_codes: Sequence[str]) -> Recommendation:
        """The action for a denial: the largest adjustment with a rule of its own decides (a
        CARC the table names says more than a group's default), else the largest's group."""
        ordered = sorted((a for a in denied if self.is_denial(a)), key=lambda a: a.amount, reverse=True)
        if not ordered:
            raise ValueError("no denied adjustment to recommend an action for")
        chosen = next(
            (a for a in ordered if self.rule_for(a.group_code, a.reason_code, remark_codes).carc != ANY),
            ordered[0],
        )
        rule = self.rule_for(chosen.group_code, chosen.reason_code, remark_codes)
        label = f"{chosen.group_code}-{chosen.reason_code}" + (f" with {rule.rarc}" if rule.rarc else "")
        return Recommendation(
            action=rule.action,
            why=f"{label}: {rule.why}",
            group_code=chosen.group_code,
            reason_code=chosen.reason_code,
            remark_code=rule.rarc or None,
        )


def all_remark_codes(claim_level: Sequence[str], line_level: Sequence[str]) -> list[str]:
    """The claim's remarks (MOA/MIA) first, then its lines' (LQ*HE), each once."""
    return list(dict.fromkeys([*claim_level, *line_level]))


# --- appeal letters ------------------------------------------------------------------------

# The argument a letter makes against each CARC (templates/arguments/<name>.txt.j2); a reason
# not named here gets a plain request for reconsideration, never a stock medical-necessity claim.
ARGUMENTS = {
    "50": "medical_necessity",
    "55": "medical_necessity",
    "56": "medical_necessity",
    "39": "medical_necessity",
    "40": "medical_necessity",
    "151": "medical_necessity",
    "167": "medical_necessity",
    "15": "authorization",
    "197": "authorization",
    "198": "authorization",
    "29": "timely_filing",
    "22": "coordination_of_benefits",
    "109": "coordination_of_benefits",
    "18": "duplicate",
    "B13": "duplicate",
    "97": "bundling",
    "234": "bundling",
    "236": "bundling",
    "96": "non_covered",
    "204": "non_covered",
    "49": "non_covered",
    "16": "missing_information",
    "125": "missing_information",
    "226": "missing_information",
    "252": "missing_information",
    "26": "eligibility",
    "27": "eligibility",
    "31": "eligibility",
    "200": "eligibility",
}


def arguments_for(adjustments: Sequence[Mapping[str, Any]]) -> list[str]:
    """One argument per kind of reason denied, the largest amount's first."""
    ordered = sorted(adjustments, key=lambda a: Decimal(str(a["amount"])), reverse=True)
    return list(dict.fromkeys(ARGUMENTS.get(str(a["reason_code"]), "reconsideration") for a in ordered))


def _name(person: Any) -> str:
    return f"{person.last_name}, {person.first_name}"


def letter_parties(data: ClaimData) -> dict[str, Any]:
    """Who the claim is for, as the payer files it: the patient (the subscriber unless 2010CA
    names a dependent), date of birth, member id and group number (2010BA NM109, SBR03)."""
    subscriber, patient = data.subscriber, data.patient
    person = patient if patient is not None and data.relationship_code != "18" else subscriber
    return {
        "patient_name": _name(person) if person else data.patient_id,
        "patient_birth_date": person.birth_date.isoformat() if person else "not on file",
        "subscriber_name": _name(subscriber) if subscriber and person is not subscriber else None,
        "member_id": subscriber.member_id if subscriber else "not on file",
        "group_number": subscriber.group_number if subscriber else None,
    }


def filing_facts(
    data: ClaimData, first_submitted: datetime | None, accepted: datetime | None, limit_days: int | None
) -> dict[str, Any]:
    """The proof of timely filing: when the claim first went out, how long after the date of
    service, and when the payer (277CA) accepted it."""
    sent: date | None = first_submitted.date() if first_submitted else None
    days = (sent - data.first_date_of_service).days if sent else None
    return {
        "first_submitted_on": sent.isoformat() if sent else None,
        "days_after_service": days,
        "accepted_on": accepted.date().isoformat() if accepted else None,
        "filing_limit_days": limit_days,
        "within_limit": days is not None and limit_days is not None and days <= limit_days,
    }


def described(codes: Iterable[str], descriptions: Mapping[str, str]) -> list[dict[str, str]]:
    """Codes with their published descriptions ("" when the shipped list lacks one)."""
    return [{"code": c, "description": descriptions.get(c, "")} for c in codes]
