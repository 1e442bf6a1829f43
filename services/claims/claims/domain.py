"""The claim's rules, with no I/O: the state machine, a new claim's row and first history row,
the strict checks a person's claim must pass, an encounter read as claim content, and a
claim's providers completed from the provider registry.

The functions here change claims in memory and return history rows (columns of
claim_status_history), so a batch handler can store many at once and a route one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from services.claims.claims.schemas import (
    AddressIn,
    AdjustmentIn,
    ClaimData,
    LineIn,
    OtherCoverage,
    PersonIn,
    ProviderIn,
    SubscriberIn,
)
from services.claims.claims.tables import Claim
from services.claims.providers import domain as providers
from services.claims.reference import store as reference
from shared.events import Event
from shared.events.catalogue import EncounterCompleted, Person
from shared.identifiers import npi_is_valid
from shared.problems import FieldError, ProblemError, invalid

EDITABLE = ("draft", "ready", "rejected")
OPEN_STATUSES = ("submitted", "accepted", "partial", "denied", "appealed")
WAITING = ("submitted", "accepted")  # sent, no adjudication yet
# The payer took the claim back (a void it confirmed) or paid its replacement: nothing moves
# it again, not even a late copy of an old 835.
FINAL = ("voided", "replaced")
# An adjudicated claim a payer's reversal (835 CLP02 = 22) reopens, to await the corrected one.
REVERSIBLE = ("paid", "partial", "denied", "appealed", "closed")
DONE = ("closed", *FINAL)  # no longer billed: not a duplicate of a new claim
_ANSWERS = {"paid", "partial", "denied", "closed", *FINAL}
# Where each status may go next; events from partners can skip a step (an 835 may arrive
# before the 277CA), so the answer statuses are reachable from every sent state.
TRANSITIONS: dict[str, set[str]] = {
    "draft": {"draft", "ready", "closed"},
    "ready": {"draft", "ready", "submitted", "closed"},
    "submitted": {"accepted", "rejected", *_ANSWERS},
    "accepted": {"accepted", "rejected", *_ANSWERS},
    "rejected": {"draft", "ready", "submitted", "closed"},
    "paid": {"accepted", *_ANSWERS},  # accepted again: the payer reversed its adjudication
    "partial": {"appealed", "accepted", *_ANSWERS},
    "denied": {"appealed", "accepted", *_ANSWERS},
    "appealed": {"accepted", *_ANSWERS},
    "closed": {"paid", "partial", "denied", "accepted", *FINAL},
    "voided": set(),
    "replaced": set(),
}


def now() -> datetime:
    """The one clock of the claims service (UTC)."""
    return datetime.now(UTC)


def new_pcn() -> str:
    """Patient control number: 17 characters, unique (CLM01, echoed in CLP01)."""
    return "C" + uuid.uuid4().hex[:16].upper()


def event_actor(event: Event) -> str:
    """Who moved a claim when an event did: the event, by type and id (history `actor`)."""
    return f"event:{event.type}:{event.id}"


def data_of(claim: Claim) -> ClaimData:
    """The claim's stored content, parsed."""
    return ClaimData.model_validate(claim.data)


def transition(claim: Claim, to_status: str, actor: str, reason: str | None = None) -> dict[str, Any]:
    """Move the claim and return its history row; refuses (409) a move the lifecycle does not
    allow. Pure, so batch handlers can insert many rows at once."""
    if to_status not in TRANSITIONS[claim.status]:
        raise ProblemError(
            409,
            "invalid-transition",
            "The claim cannot make that move",
            f"A {claim.status} claim cannot become {to_status}.",
        )
    when = now()
    row = {
        "claim_id": claim.id,
        "from_status": claim.status,
        "to_status": to_status,
        "actor": actor,
        "reason": reason,
        "changed_at": when,
    }
    claim.status = to_status
    claim.updated_at = when
    return row


def new_claim(data: ClaimData, actor: str, *, encounter_id: str | None = None, **links: Any) -> Claim:
    """A draft claim in memory (not yet stored); `links`: original_claim_id or primary_claim_id."""
    when = now()
    return Claim(
        id=uuid.uuid4(),
        patient_control_number=new_pcn(),
        status="draft",
        patient_id=data.patient_id,
        payer_id=data.payer_id,
        coverage_order=data.coverage_order,
        frequency_code=data.frequency_code,
        data=data.model_dump(mode="json"),
        total_charge=data.total_charge,
        date_of_service=data.first_date_of_service,
        encounter_id=encounter_id,
        created_by=actor,
        created_at=when,
        updated_at=when,
        **links,
    )


def created_row(claim: Claim, actor: str) -> dict[str, Any]:
    """A new claim's first history row."""
    return {
        "claim_id": claim.id,
        "from_status": None,
        "to_status": "draft",
        "actor": actor,
        "reason": "created",
        "changed_at": claim.created_at,
    }


def replace_data(claim: Claim, data: ClaimData) -> None:
    """New content for an editable claim; its old scrub no longer says anything about it."""
    claim.data = data.model_dump(mode="json")
    claim.payer_id = data.payer_id
    claim.total_charge = data.total_charge
    claim.date_of_service = data.first_date_of_service
    claim.scrub = None


def follow_on_data(claim: Claim, frequency: Literal["7", "8"], changes: dict[str, Any]) -> ClaimData:
    """The content of a replacement (7) or void (8) of a claim the payer has numbered; 409 when
    the claim cannot be corrected."""
    if not claim.payer_claim_control_number:
        raise ProblemError(
            409,
            "no-payer-control-number",
            "The payer has not numbered this claim",
            "Only a claim the payer accepted or adjudicated can be replaced or voided; "
            "a rejected claim is fixed with PATCH and submitted again.",
        )
    if claim.status in EDITABLE or claim.status in FINAL or claim.frequency_code == "8":
        raise ProblemError(409, "not-correctable", "This claim cannot be corrected", f"It is {claim.status}.")
    return ClaimData.model_validate(
        {
            **claim.data,
            **changes,
            "frequency_code": frequency,
            "original_payer_claim_control_number": claim.payer_claim_control_number,
        }
    )


def strict_errors(data: ClaimData) -> list[FieldError]:
    """Rules a claim posted by a person must meet before anything is stored."""
    errors: list[FieldError] = []
    if data.payer_id not in reference.payers():
        errors.append(FieldError(field="body.payer_id", rule="unknown_payer", message="Unknown payer id."))
    for other_index, other in enumerate(data.other_coverages):
        if other.payer_id not in reference.payers():
            errors.append(
                FieldError(
                    field=f"body.other_coverages.{other_index}.payer_id",
                    rule="unknown_payer",
                    message="Unknown payer id.",
                )
            )
        errors += cob_errors(data, other, f"body.other_coverages.{other_index}")
    for name, provider in named_providers(data):
        if provider is not None and not npi_is_valid(provider.npi):
            errors.append(
                FieldError(
                    field=f"body.{name}.npi",
                    rule="npi_check_digit",
                    message="The NPI's check digit is wrong; re-enter it from NPPES.",
                )
            )
    pointed = data.lines if data.claim_type == "professional" else []  # UB-04 lines point at none
    for line_index, line in enumerate(pointed):
        for pointer_index, pointer in enumerate(line.diagnosis_pointers):
            if not 1 <= pointer <= len(data.diagnoses):
                errors.append(
                    FieldError(
                        field=f"body.lines.{line_index}.diagnosis_pointers.{pointer_index}",
                        rule="pointer_to_missing_diagnosis",
                        message=f"Points at diagnosis {pointer}; the claim has {len(data.diagnoses)}.",
                    )
                )
    if data.frequency_code in ("7", "8") and not data.original_payer_claim_control_number:
        errors.append(
            FieldError(
                field="body.original_payer_claim_control_number",
                rule="missing",
                message="A replacement (7) or void (8) needs the original claim's payer control number.",
            )
        )
    if data.subscriber is None:
        errors.append(
            FieldError(field="body.subscriber", rule="missing", message="The subscriber and member id.")
        )
    if data.patient is None and data.relationship_code != "18":
        errors.append(
            FieldError(
                field="body.patient",
                rule="missing",
                message="The patient's demographics (the patient is not the subscriber).",
            )
        )
    return errors


def _person(p: Person) -> PersonIn:
    """The catalogue's person as claim content."""
    address = AddressIn(**p.address.model_dump()) if p.address else None
    return PersonIn(
        first_name=p.first_name,
        last_name=p.last_name,
        birth_date=p.birth_date,
        gender=p.gender,
        address=address,
    )


def claim_data_from_encounter(enc: EncounterCompleted) -> ClaimData:
    """The EHR's encounter as claim content; gaps stay for the scrubber to name."""
    primary = next((c for c in enc.coverages if c.payer_id == enc.payer_id), None)
    patient = _person(enc.patient) if enc.patient else None
    subscriber = None
    relationship = "18"
    if primary is not None:
        relationship = primary.relationship_code
        holder = _person(primary.subscriber) if primary.subscriber else patient
        if holder is not None:
            subscriber = SubscriberIn(
                **holder.model_dump(), member_id=primary.member_id, group_number=primary.group_number
            )
    others = [
        OtherCoverage(
            payer_id=c.payer_id,
            member_id=c.member_id,
            order=c.order,
            relationship_code=c.relationship_code,
            subscriber=_person(c.subscriber) if c.subscriber else None,
            group_number=c.group_number,
        )
        for c in enc.coverages
        if c is not primary
    ]
    return ClaimData(
        patient_id=enc.patient_id,
        patient=patient if relationship != "18" else None,
        subscriber=subscriber,
        relationship_code=relationship,
        payer_id=enc.payer_id,
        coverage_order=primary.order if primary else "primary",
        # NPIs only: the rest comes from the provider registry (with_registry).
        billing_provider=ProviderIn(npi=enc.billing_provider_npi),
        rendering_provider=ProviderIn(npi=enc.rendering_provider_npi) if enc.rendering_provider_npi else None,
        **_institutional_fields(enc),
        place_of_service=enc.place_of_service,
        diagnoses=list(enc.diagnoses),
        lines=[
            LineIn(
                code=line.code,
                revenue_code=line.revenue_code,
                modifiers=list(line.modifiers),
                units=line.units,
                charge=line.charge,
                date_of_service=line.date_of_service or enc.date_of_service,
                diagnosis_pointers=list(line.diagnosis_pointers),
            )
            for line in enc.lines
        ],
        prior_authorization_number=enc.prior_authorization_number,
        other_coverages=others[:2],
    )


def _institutional_fields(enc: EncounterCompleted) -> dict[str, Any]:
    """An institutional encounter's part of the claim: the type, the facility's data, and the
    attending, operating and other operating physicians by NPI (837I 2310A-C)."""
    if enc.kind != "institutional":
        return {}
    npis = {
        "attending_provider": enc.attending_provider_npi,
        "operating_provider": enc.operating_provider_npi,
        "other_operating_provider": enc.other_operating_provider_npi,
    }
    return {
        "claim_type": "institutional",
        "institutional": enc.institutional,
        **{name: ProviderIn(npi=npi) for name, npi in npis.items() if npi},
    }


def named_providers(data: ClaimData) -> list[tuple[str, ProviderIn]]:
    """The claim's providers by field name: billing, rendering, and on an institutional claim
    its attending, operating and other operating physicians."""
    every = (
        ("billing_provider", data.billing_provider),
        ("rendering_provider", data.rendering_provider),
        ("attending_provider", data.attending_provider),
        ("operating_provider", data.operating_provider),
        ("other_operating_provider", data.other_operating_provider),
    )
    return [(name, provider) for name, provider in every if provider is not None]


def provider_npis(data: ClaimData) -> set[str]:
    """The NPIs of the claim's providers (billing, rendering, and an institutional claim's)."""
    return {p.npi for _, p in named_providers(data)}


def with_registry(data: ClaimData, registry: Mapping[str, Mapping[str, Any]]) -> ClaimData:
    """The claim with each provider's unset fields taken from its registry record (by NPI);
    an NPI the registry does not have stays as it is, for the scrubber to hold."""
    changes = {
        name: providers.fill(provider.model_dump(mode="json"), registry[provider.npi])
        for name, provider in named_providers(data)
        if provider.npi in registry
    }
    if not changes:
        return data
    return ClaimData.model_validate({**data.model_dump(mode="json"), **changes})


def cob_errors(data: ClaimData, other: OtherCoverage, at: str) -> list[FieldError]:
    """The 837P's COB balancing for one other payer's adjudication (loops 2320/2430): per line
    it adjudicated, SV102 - SVD02 - its CAS = 0; for the claim, CLM02 - AMT*D - 2320 CAS -
    every 2430 CAS = 0. So an adjustment is reported at claim or at line level, never both."""
    if other.paid is None:
        if other.adjustments or other.lines:
            message = "Adjustments need the paid amount."
            return [FieldError(field=f"{at}.paid", rule="missing", message=message)]
        return []
    errors: list[FieldError] = []
    left: dict[int, tuple[int, Decimal]] = {}  # line number: (first index, charge - paid - CAS)
    for index, line in enumerate(other.lines):
        if not 1 <= line.line_number <= len(data.lines):
            field = f"{at}.lines.{index}.line_number"
            message = f"The claim has {len(data.lines)} lines."
            errors.append(FieldError(field=field, rule="no_such_line", message=message))
            continue
        first, rest = left.get(line.line_number, (index, data.lines[line.line_number - 1].charge))
        left[line.line_number] = (first, rest - line.paid - _total(line.adjustments))
    for first, rest in left.values():
        if rest != 0:
            message = f"The line's charge, less what was paid and its CAS, is {rest}, not 0 (837P 2430)."
            errors.append(FieldError(field=f"{at}.lines.{first}", rule="cob_unbalanced", message=message))
    rest = data.total_charge - other.paid - _total(other.adjustments)
    rest -= sum((_total(line.adjustments) for line in other.lines), Decimal(0))
    if rest != 0:
        message = (
            "The claim's charge, less what this payer paid and its claim- and line-level adjustments,"
            f" is {rest}, not 0 (837P 2320): report each adjustment once."
        )
        errors.append(FieldError(field=at, rule="cob_unbalanced", message=message))
    return errors


def _total(adjustments: list[AdjustmentIn]) -> Decimal:
    return sum((a.amount for a in adjustments), Decimal(0))


def reject_invalid(data: ClaimData) -> None:
    """422 naming each field that breaks a rule of strict_errors(); nothing is stored."""
    if errors := strict_errors(data):
        raise invalid(*errors, detail=f"{len(errors)} field(s) broke a rule; see `errors`.")
