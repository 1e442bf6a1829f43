"""The one submission path: scrub, hold back what has errors, number the interchanges, write
each 837P, move the claim to submitted and publish claim.submitted.

`submit_claims` does it for a batch (the claims a poll of encounters makes: a fixed handful
of statements for the whole poll); `submit_claim` is the same path for one stored claim (the
API's submit, corrections and voids, secondary claims), refusing with a 409 what cannot go.
Claims made to be sent at once are made here too: from encounters, corrections and voids.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims import domain as claims_domain, store as claims_store, usecases as claims
from services.claims.claims.schemas import ClaimData
from services.claims.claims.tables import Claim
from services.claims.denials import store as denials_store
from services.claims.flags import usecases as flags
from services.claims.institutional import usecases as institutional
from services.claims.providers import usecases as providers
from services.claims.receivables import usecases as receivables
from services.claims.reference import store as reference
from services.claims.registry import domain as registry, usecases as registry_copies
from services.claims.scrubbing import usecases as scrubbing
from services.claims.scrubbing.domain import Finding, has_errors, with_authorizations
from services.claims.settings import ClaimsSettings, get_claims_settings
from services.claims.submission import store
from services.claims.submission.x12 import generate
from shared import context
from shared.consumer import PermanentError
from shared.events import Event, new_event
from shared.events.catalogue import ClaimLineSummary, ClaimSubmitted, EncounterCompleted
from shared.outbox import add_events
from shared.problems import FieldError, ProblemError


@dataclass
class Submission:
    """A claim to scrub and, when clean, send."""

    claim: Claim
    data: ClaimData
    actor: str
    cause: Event | None = None  # the event it came from: claim.submitted carries its correlation


@dataclass
class Outcome:
    """What a batch's submission did: each claim's findings, and the history rows and events
    for the caller to store with its claims (new claims in bulk, a loaded claim by the ORM)."""

    findings: list[list[Finding]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


async def submit_claims(session: AsyncSession, items: Sequence[Submission], *, send: bool = True) -> Outcome:
    """Scrub every claim and record its findings; with `send`, submit the clean ones, each with
    the valid authorizations on file that cover it (kept on the claim as sent)."""
    findings, rows, contexts = await scrubbing.scrub_claims(
        session, [(i.claim, i.data, i.actor) for i in items]
    )
    clean = [
        (item, ctx)
        for item, found, ctx in zip(items, findings, contexts, strict=True)
        if send and not has_errors(found)
    ]
    outcome = Outcome(findings, rows)
    settings = get_claims_settings()
    controls = await store.control_numbers(session, len(clean))
    firsts = await claims_store.first_claim_ids(
        session, [item.claim.original_claim_id for item, _ in clean if item.claim.original_claim_id]
    )
    for (item, ctx), control in zip(clean, controls, strict=True):
        if item.cause is not None:
            context.start(item.cause.correlation_id, item.cause.traceparent)
        item.data = with_authorizations(item.data, ctx)
        item.claim.data = item.data.model_dump(mode="json")
        outcome.rows.append(_mark_submitted(item, control, settings))
        first = firsts.get(item.claim.original_claim_id) if item.claim.original_claim_id else None
        outcome.events.append(_submitted_event(item.claim, item.data, first))
    await receivables.on_submitted(session, [item.claim for item, _ in clean])
    return outcome


async def submit_claim(session: AsyncSession, claim: Claim, actor: str) -> None:
    """Submit one stored claim, or refuse with a 409: already sent, or the scrubber's errors
    (the scrub is staged first, so a caller that commits keeps it)."""
    if claim.status not in claims_domain.EDITABLE:
        raise ProblemError(
            409,
            "not-submittable",
            "The claim was already sent",
            f"A {claim.status} claim cannot be submitted.",
        )
    outcome = await submit_claims(session, [Submission(claim, claims_domain.data_of(claim), actor)])
    claims_store.stage(session, claim, outcome.rows)
    await add_events(session, outcome.events)
    errors = [f for f in outcome.findings[0] if f.severity == "error"]
    if errors:
        raise ProblemError(
            409,
            "scrub-errors",
            "The claim has scrubber errors",
            f"{len(errors)} error edit(s) must be fixed before the claim can be submitted.",
            errors=[FieldError(field=f"body.{f.field}", rule=f.edit, message=f.message) for f in errors],
        )


def preview(claim: Claim) -> str:
    """The 837P the claim would be sent as now (interchange control number 0), without sending."""
    data = claims_domain.data_of(claim)
    return generate(data, claim.patient_control_number, control_number=0, settings=get_claims_settings())


def _mark_submitted(item: Submission, control: int, settings: ClaimsSettings) -> dict[str, Any]:
    """Write the 837P onto the claim and move it to submitted; returns the history row."""
    claim, when = item.claim, claims_domain.now()
    claim.x12_837 = generate(
        item.data, claim.patient_control_number, control_number=control, settings=settings, now=when
    )
    claim.submission_count = (claim.submission_count or 0) + 1
    claim.submitted_at = when
    claim.followup_published_at = None
    claim.first_submitted_at = claim.first_submitted_at or when
    return claims_domain.transition(claim, "submitted", item.actor, f"837P interchange {control:09d}")


def _submitted_event(claim: Claim, data: ClaimData, first_claim_id: uuid.UUID | None) -> Event:
    """claim.submitted for a claim just marked submitted (in the current correlation context):
    each line with the authorization sent for it, and a replacement or void with the first
    claim of its chain (eligibility counts an authorized visit once per chain)."""
    return new_event(
        ClaimSubmitted(
            claim_id=claim.id,
            patient_control_number=claim.patient_control_number,
            patient_id=claim.patient_id,
            payer_id=claim.payer_id,
            frequency_code=data.frequency_code,  # type: ignore[arg-type]
            total_charge=data.total_charge,
            x12_837=claim.x12_837,
            submitted_at=claim.submitted_at,
            coverage_order=data.coverage_order,
            account_id=claim.patient_id,
            date_of_service=data.first_date_of_service,
            lines=[
                ClaimLineSummary(
                    line_number=n,
                    code=line.code,
                    revenue_code=line.revenue_code,
                    modifiers=line.modifiers,
                    units=line.units,
                    charge=line.charge,
                    date_of_service=line.date_of_service,
                    prior_authorization_number=line.prior_authorization_number
                    or data.prior_authorization_number,
                )
                for n, line in enumerate(data.lines, start=1)
            ],
            original_payer_claim_control_number=data.original_payer_claim_control_number,
            first_claim_id=first_claim_id,
            primary_claim_id=claim.primary_claim_id,
            claim_type=data.claim_type,
        )
    )


async def follow_on(
    session: AsyncSession,
    claim: Claim,
    frequency: Literal["7", "8"],
    changes: dict[str, Any],
    actor: str,
    note: str | None = None,
) -> Claim:
    """A replacement (7) or void (8) of a claim the payer has: a new claim pointing at the
    original's payer control number, submitted at once; the original is closed and its open
    denials are worked off. The payer's answer settles it (adjudication: the original becomes
    voided, or replaced once the replacement is paid). One per claim: a second would be a
    duplicate at the payer, so a 409 names the first, which is the one to work.

    A correction of a claim with an open member id flag goes out with the member id the
    registry has now (unless `changes` sends a subscriber) and resolves the flag (`note`)."""
    if frequency == "7" and "subscriber" not in changes:
        changes = {**changes, **await flags.corrected_member_id(session, claim)}
    merged = claims_domain.follow_on_data(claim, frequency, changes)
    if earlier := await claims_store.follow_ons(session, claim.id):
        last = earlier[-1]
        kind, does = ("replaced", "replaces") if last.frequency_code == "7" else ("voided", "voids")
        raise ProblemError(
            409,
            "already-followed-on",
            f"This claim was already {kind}",
            f"Claim {last.patient_control_number} ({last.status}) {does} it: work that claim "
            "(a rejected one is fixed with PATCH and submitted again; a replacement is corrected "
            "or voided in turn).",
        )
    claims_domain.reject_invalid(merged)
    new = await claims.create(session, merged, actor, original_claim_id=claim.id)
    await submit_claim(session, new, actor)
    verb = "corrected" if frequency == "7" else "voided"
    await denials_store.resolve_open(
        session, claim.id, f"{verb}: {new.patient_control_number}", claims_domain.now()
    )
    if frequency == "7":
        await flags.resolve_by_correction(session, claim.id, new.patient_control_number, actor, note)
    reason = f"{'replacement' if frequency == '7' else 'void'} {new.patient_control_number} sent"
    claims.set_status(session, claim, "closed", actor, reason)
    return new


async def create_from_encounters(session: AsyncSession, events: Sequence[Event]) -> None:
    """A claim per encounter (once: the encounter id is unique), scrubbed, and submitted when
    clean if the practice's policy says so; encounters from EHRs this practice does not take
    claims from are ignored.

    The encounter names its providers by NPI only; the rest is the provider registry's, and
    a claim whose providers the registry lacks is held by the scrubber. A poll's encounters
    cost a fixed handful of statements (known encounters, the registry, the scrubber's three
    lookups, control numbers, one INSERT per table), not a handful each."""
    sources = [s.strip() for s in get_claims_settings().encounter_sources.split(",") if s.strip()]
    ours = [e for e in events if not sources or e.source in sources]
    if not ours:
        return
    known = await claims_store.known_encounters(session, [e.data.encounter_id for e in ours])  # type: ignore[attr-defined]
    npis = {npi for e in ours for npi in _npis(e.data)}  # type: ignore[arg-type]
    registry = await providers.registry(session, npis)
    copies = await registry_copies.registered(session, [e.data.patient_id for e in ours])  # type: ignore[attr-defined]
    items: list[Submission] = []
    for event in ours:
        enc = event.data
        assert isinstance(enc, EncounterCompleted)
        if enc.encounter_id in known:
            continue
        known.add(enc.encounter_id)
        try:
            data = claims_domain.with_registry(_from_encounter(enc, copies.get(enc.patient_id)), registry)
            data = institutional.with_drg(data)
        except ValidationError as exc:
            where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
            raise PermanentError(f"encounter cannot become a claim: {where}") from None
        actor = claims_domain.event_actor(event)
        claim = claims_domain.new_claim(data, actor, encounter_id=enc.encounter_id)
        items.append(Submission(claim, data, actor, cause=event))
    created = [claims_domain.created_row(item.claim, item.actor) for item in items]
    outcome = await submit_claims(session, items, send=reference.auto_submit_encounter_claims())
    await claims_store.insert_new(session, [item.claim for item in items], created + outcome.rows)
    await add_events(session, outcome.events)


def _npis(enc: EncounterCompleted) -> set[str]:
    """Every provider the encounter names: billing, rendering, and an institutional one's
    attending, operating and other operating physicians."""
    named = (
        enc.billing_provider_npi,
        enc.rendering_provider_npi,
        enc.attending_provider_npi,
        enc.operating_provider_npi,
        enc.other_operating_provider_npi,
    )
    return {npi for npi in named if npi}


def _from_encounter(enc: EncounterCompleted, copy: registry.Registered | None) -> ClaimData:
    """The encounter as claim content; without coverages (or a patient) it takes them from the
    registry copy for its payer and date of service. What the encounter carries wins, and a
    copy the claim cannot carry leaves the encounter as it came (held by the scrubber)."""
    data = claims_domain.claim_data_from_encounter(enc)
    if copy is None or (enc.coverages and enc.patient is not None):
        return data
    patient = enc.patient.model_dump(mode="json") if enc.patient else None
    values = registry.fill(data.model_dump(mode="json"), copy, enc.date_of_service, patient=patient)
    try:
        return ClaimData.model_validate(values)
    except ValidationError:
        return data  # a coverage on file the claim cannot carry: the scrubber names the gap, as before
