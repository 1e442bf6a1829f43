"""The claim scrubber: named edits, each saying severity, field and what to do about it.

Which edits run, and how severe each is, comes from data/edits.json; the tables they consult
are data too (payers and place-of-service codes as files; code sets, NCCI pairs and MUE limits
as loaded versions). The checks are plain functions of the claim and a `ScrubContext` (today's
date, our copies of eligibility and authorization events, possible duplicates, the code data in
effect on the date of service), so each is easy to test alone. The coding edits (diagnoses,
procedure codes, modifiers, NCCI, MUE) are in services.claims.coding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from services.claims.authorizations import domain as authorizations
from services.claims.authorizations.domain import AuthorizationFact
from services.claims.claims.schemas import ClaimData
from services.claims.codesets.domain import CodeData
from services.claims.coding import domain as coding
from services.claims.institutional import domain as institutional, usecases as grouping
from services.claims.providers.domain import provider_data
from services.claims.reference import store as reference
from shared.identifiers import npi_is_valid

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    edit: str
    severity: Severity
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"edit": self.edit, "severity": self.severity, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class EligibilityFact:
    status: str
    date_of_service: date
    coverage_start: date | None
    coverage_end: date | None
    prior_auth_service_types: tuple[str, ...] = ()
    # The check's other payers, (payer id, order): 271 loop 2120C, NM1*PRP/SEP/TTP.
    other_payers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OtherClaim:
    """Another claim for the same patient and payer (duplicate detection)."""

    patient_control_number: str
    codes: tuple[str, ...]
    dates: tuple[date, ...]


@dataclass
class ScrubContext:
    today: date
    eligibility: list[EligibilityFact] = field(default_factory=list)
    authorizations: list[AuthorizationFact] = field(default_factory=list)
    other_claims: list[OtherClaim] = field(default_factory=list)
    codes: CodeData = field(default_factory=CodeData)
    visit_counted: bool = False  # sent before, or a correction: its visit is counted already


Hit = tuple[str, str]  # (field, message)
Check = Callable[[ClaimData, ScrubContext], Iterator[Hit]]


# --- the checks ---------------------------------------------------------------------------


def required_data(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    if data.subscriber is None:
        yield "subscriber", "Add the subscriber's name, birth date and member id from the insurance card."
    if data.relationship_code != "18" and data.patient is None:
        yield "patient", "The patient is not the subscriber: add the patient's name and birth date."
    if data.payer_id not in reference.payers():
        yield "payer_id", "The payer is not set up; choose a payer from the payer list."
    patient_address = (data.patient.address if data.patient else None) or (
        data.subscriber.address if data.subscriber else None
    )
    if data.subscriber is not None and patient_address is None:
        yield "subscriber.address", "Add the patient's address; payers require it on every claim."
    if data.frequency_code in ("7", "8") and not data.original_payer_claim_control_number:
        yield (
            "original_payer_claim_control_number",
            "Add the payer's control number of the claim being replaced.",
        )


def npi_check_digit(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    for name, provider in (
        ("billing_provider", data.billing_provider),
        ("rendering_provider", data.rendering_provider),
    ):
        if provider is not None and not npi_is_valid(provider.npi):
            yield f"{name}.npi", "The NPI fails its check digit; copy it again from NPPES."


def diagnosis_pointers(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    count = len(data.diagnoses)
    for i, line in enumerate(data.lines):
        if len(set(line.diagnosis_pointers)) != len(line.diagnosis_pointers):
            yield f"lines.{i}.diagnosis_pointers", f"Line {i + 1}: a diagnosis pointer is repeated."
        for j, pointer in enumerate(line.diagnosis_pointers):
            if not 1 <= pointer <= count:
                yield (
                    f"lines.{i}.diagnosis_pointers.{j}",
                    (f"Line {i + 1}: pointer {pointer} points at no diagnosis (the claim has {count})."),
                )


def place_of_service(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    if data.place_of_service not in reference.pos_codes():
        yield "place_of_service", "Not a CMS place-of-service code; use e.g. 11 for an office."


def date_rules(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    for i, line in enumerate(data.lines):
        if line.date_of_service > ctx.today:
            yield f"lines.{i}.date_of_service", f"Line {i + 1}: the service date is in the future."
    people = [("subscriber", data.subscriber), ("patient", data.patient)]
    for name, person in people:
        if person is not None and person.birth_date > data.first_date_of_service:
            yield f"{name}.birth_date", "The birth date is after the date of service."
        if person is not None and person.birth_date > ctx.today:
            yield f"{name}.birth_date", "The birth date is in the future."


def timely_filing(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    """The payer's filing limit counts from the date of service; on an institutional claim from
    the statement period's through date (UB-04 FL6, 837I DTP*434: the discharge or the interim
    bill's last day), as payers count it for facility claims."""
    payer = reference.payers().get(data.payer_id)
    if payer is None:
        return
    start, field_name = data.first_date_of_service, "lines.0.date_of_service"
    if data.institutional is not None:
        start, field_name = data.institutional.statement_to, "institutional.statement_to"
    deadline = start + timedelta(days=payer.timely_filing_days)
    if ctx.today > deadline:
        yield (
            field_name,
            (
                f"The payer's {payer.timely_filing_days}-day filing limit passed on {deadline.isoformat()}; "
                "file only with proof of timely filing."
            ),
        )


def authorization_rules(data: ClaimData, ctx: ScrubContext) -> authorizations.Rules:
    """What needs authorization for this claim: the payer's codes and the service types the
    latest active eligibility check flagged (271 EB11 = Y)."""
    payer = reference.payers().get(data.payer_id)
    checks = [e for e in ctx.eligibility if e.status == "active"]
    return authorizations.Rules(
        payer.prior_auth_codes if payer else frozenset(),
        frozenset(checks[-1].prior_auth_service_types) if checks else frozenset(),
        ctx.visit_counted,
    )


def prior_authorization(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    if data.payer_id in reference.payers():
        yield from authorizations.missing(data, ctx.authorizations, authorization_rules(data, ctx))


def with_authorizations(data: ClaimData, ctx: ScrubContext) -> ClaimData:
    """The claim as it is sent, with the numbers of the valid authorizations on file."""
    return authorizations.attach(data, ctx.authorizations, authorization_rules(data, ctx))


def _coverage_for(data: ClaimData, ctx: ScrubContext) -> EligibilityFact | None:
    dos = data.first_date_of_service
    same_day = [e for e in ctx.eligibility if e.date_of_service == dos and e.status != "error"]
    if same_day:
        return same_day[-1]
    covering = [
        e
        for e in ctx.eligibility
        if e.status != "error"
        and (e.coverage_start or e.coverage_end)
        and (e.coverage_start is None or e.coverage_start <= dos)
        and (e.coverage_end is None or dos <= e.coverage_end)
    ]
    return covering[-1] if covering else None


def coverage_inactive(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    dos = data.first_date_of_service
    fact = _coverage_for(data, ctx)
    if fact is None:
        # No check for this date: a check for another date can still say the policy ended before.
        ended = [e for e in ctx.eligibility if e.coverage_end is not None and e.coverage_end < dos]
        if ended:
            yield (
                "payer_id",
                "Coverage ended before the date of service; find the patient's current insurance.",
            )
        return
    if fact.status == "inactive":
        yield "payer_id", "The eligibility check says coverage was inactive on the date of service."
    elif fact.coverage_end is not None and fact.coverage_end < dos:
        yield "payer_id", "Coverage ended before the date of service; find the patient's current insurance."
    elif fact.coverage_start is not None and dos < fact.coverage_start:
        yield "payer_id", "Coverage had not started on the date of service."


def coverage_not_verified(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    payer = reference.payers().get(data.payer_id)
    if payer is None or not payer.requires_eligibility or data.coverage_order != "primary":
        return
    if not [e for e in ctx.eligibility if e.status != "error"]:
        yield "payer_id", "No eligibility check is on file for this payer; verify coverage before sending."


def wrong_primary(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    """Coordination of benefits: the eligibility check for the date of service names another
    payer as primary (271 loop 2120C NM1*PRP), so this payer pays second, after that one's 835."""
    fact = _coverage_for(data, ctx)
    if data.coverage_order != "primary" or fact is None:
        return
    for payer_id, order in fact.other_payers:
        if order == "primary" and payer_id != data.payer_id:
            yield (
                "coverage_order",
                f"The eligibility check of {fact.date_of_service} says {payer_id} is the primary payer: bill "
                f"{payer_id} first, then this payer as secondary with {payer_id}'s adjudication.",
            )
            return


def duplicate_claim(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
    if data.frequency_code != "1":
        return
    mine = {(line.code or line.revenue_code, line.date_of_service) for line in data.lines}
    for other in ctx.other_claims:
        theirs = set(zip(other.codes, other.dates, strict=False))
        if mine & theirs:
            yield (
                "lines",
                (
                    f"Claim {other.patient_control_number} already bills the same service on the same date "
                    "for this patient and payer; send a replacement (frequency 7) instead."
                ),
            )


def _with_codes(check: coding.CodingCheck) -> Check:
    """A coding edit as a scrubber check: it reads the context's code data."""

    def run(data: ClaimData, ctx: ScrubContext) -> Iterator[Hit]:
        return check(data, ctx.codes)

    return run


CHECKS: dict[str, Check] = {
    **{f.__name__: f for f in (required_data, provider_data, npi_check_digit)},
    **{f.__name__: _with_codes(f) for f in coding.CHECKS},
    **{
        f.__name__: f
        for f in (
            diagnosis_pointers,
            place_of_service,
            date_rules,
            timely_filing,
            prior_authorization,
            coverage_inactive,
            coverage_not_verified,
            wrong_primary,
            duplicate_claim,
        )
    },
    **{f.__name__: f for f in (*institutional.CHECKS, grouping.drg_grouping)},
}
EVERY_TYPE = ("professional", "institutional")


def scrub(data: ClaimData, ctx: ScrubContext) -> list[Finding]:
    """Run every enabled edit that applies to the claim's type (data/edits.json `claim_types`:
    the professional-only edits, such as diagnosis pointers and the practitioner NCCI and MUE
    tables, are not an institutional claim's); findings in edit order."""
    findings: list[Finding] = []
    for edit in reference.edits():
        if not edit.get("enabled", True) or data.claim_type not in edit.get("claim_types", EVERY_TYPE):
            continue
        check = CHECKS[edit["check"]]
        for field_name, message in check(data, ctx):
            findings.append(Finding(edit["name"], edit["severity"], field_name, message))
    return findings


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
