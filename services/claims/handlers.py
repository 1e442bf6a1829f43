"""Events the claims service consumes.

The broker is shared with partners and other services: an event about a claim we do not
know (another system's, or a test's) is ignored, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims import lifecycle, reference, scrubber
from services.claims.models import AuthorizationCopy, Claim, EligibilityCopy
from services.claims.schemas import (
    AddressIn,
    ClaimData,
    LineIn,
    OtherCoverage,
    PersonIn,
    ProviderIn,
    SubscriberIn,
)
from services.claims.settings import get_claims_settings
from shared import context
from shared.consumer import PermanentError, batched, in_context
from shared.events import Event
from shared.events.catalogue import (
    AuthorizationRecorded,
    ClaimAcknowledged,
    ClaimRejected,
    EligibilityChecked,
    EncounterCompleted,
    PaymentPosted,
    Person,
)
from shared.outbox import add_events

log = logging.getLogger(__name__)


def _actor(event: Event) -> str:
    return f"event:{event.type}:{event.id}"


def _person(p: Person) -> PersonIn:
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
        billing_provider=ProviderIn(npi=enc.billing_provider_npi, name="BILLING PROVIDER"),
        rendering_provider=ProviderIn(npi=enc.rendering_provider_npi, name="RENDERING PROVIDER")
        if enc.rendering_provider_npi
        else None,
        place_of_service=enc.place_of_service,
        diagnoses=list(enc.diagnoses),
        lines=[
            LineIn(
                code=line.code,
                modifiers=list(line.modifiers),
                units=line.units,
                charge=line.charge,
                date_of_service=enc.date_of_service,
                diagnosis_pointers=list(line.diagnosis_pointers),
            )
            for line in enc.lines
        ],
        prior_authorization_number=enc.prior_authorization_number,
        other_coverages=others[:2],
    )


_KNOWN_ENCOUNTERS = text("SELECT encounter_id FROM claims WHERE encounter_id = ANY(CAST(:ids AS text[]))")


async def on_encounters_completed(session: AsyncSession, events: Sequence[Event]) -> None:
    """A claim per encounter (once: the encounter id is unique), scrubbed, and submitted when
    clean if the practice's policy says so.

    Batched: a poll's encounters cost a fixed handful of statements (known encounters, the
    scrubber's three lookups, control numbers, one INSERT per table), not a handful each."""
    sources = [s.strip() for s in get_claims_settings().encounter_sources.split(",") if s.strip()]
    ours = [e for e in events if not sources or e.source in sources]  # else another practice's EHR
    if not ours:
        return
    ids = [e.data.encounter_id for e in ours]  # type: ignore[attr-defined]
    known = set((await session.execute(_KNOWN_ENCOUNTERS, {"ids": ids})).scalars())
    made: list[tuple[Event, Claim, ClaimData]] = []
    for event in ours:
        enc = event.data
        assert isinstance(enc, EncounterCompleted)
        if enc.encounter_id in known:
            continue
        known.add(enc.encounter_id)
        try:
            data = claim_data_from_encounter(enc)
        except ValidationError as exc:
            where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
            raise PermanentError(f"encounter cannot become a claim: {where}") from None
        made.append((event, lifecycle.new_claim(data, _actor(event), encounter_id=enc.encounter_id), data))
    contexts = await lifecycle.scrub_contexts(session, [(claim, data) for _, claim, data in made])
    auto_submit = reference.auto_submit_encounter_claims()
    history: list[dict[str, Any]] = []
    clean: list[tuple[Event, Claim, ClaimData]] = []
    earlier: dict[tuple[str, str], list[Claim]] = {}  # this batch's claims by (patient, payer)
    for (event, claim, data), ctx in zip(made, contexts, strict=True):
        # Claims made earlier in this batch are on file for this one's duplicate edit.
        mates = earlier.setdefault((data.patient_id, data.payer_id), [])
        ctx.other_claims += [
            lifecycle.other_claim(o) for o in mates if lifecycle.possible_duplicate(o, claim, data)
        ]
        mates.append(claim)
        history.append(lifecycle.created_row(claim, _actor(event)))
        findings = scrubber.scrub(data, ctx)
        history += lifecycle.apply_scrub(claim, _actor(event), findings)
        if auto_submit and not scrubber.has_errors(findings):
            clean.append((event, claim, data))
    outgoing: list[Event] = []
    controls = await lifecycle.control_numbers(session, len(clean))
    for (event, claim, data), control in zip(clean, controls, strict=True):
        context.start(event.correlation_id, event.traceparent)  # claim.submitted carries it
        row, submitted = lifecycle.mark_submitted(claim, data, control, _actor(event))
        history.append(row)
        outgoing.append(submitted)
    await lifecycle.insert_new(session, [claim for _, claim, _ in made], history)
    await add_events(session, outgoing)


async def on_eligibility_checked(session: AsyncSession, event: Event) -> None:
    check = event.data
    assert isinstance(check, EligibilityChecked)
    if await session.get(EligibilityCopy, check.check_id) is not None:
        return
    session.add(
        EligibilityCopy(
            check_id=check.check_id,
            patient_id=check.patient_id,
            payer_id=check.payer_id,
            status=check.status,
            date_of_service=check.date_of_service,
            coverage_start=check.coverage_start,
            coverage_end=check.coverage_end,
            other_payers=[p.model_dump(mode="json") for p in check.other_payers],
            prior_auth_service_types=list(check.prior_auth_required_service_types),
            checked_at=check.checked_at,
        )
    )


async def on_authorization_recorded(session: AsyncSession, event: Event) -> None:
    auth = event.data
    assert isinstance(auth, AuthorizationRecorded)
    row = await session.get(AuthorizationCopy, auth.authorization_id)
    values = dict(
        patient_id=auth.patient_id,
        payer_id=auth.payer_id,
        number=auth.number,
        kind=auth.kind,
        service_codes=list(auth.service_codes),
        start_date=auth.start_date,
        end_date=auth.end_date,
        visits_allowed=auth.visits_allowed,
        visits_used=auth.visits_used,
    )
    if row is None:
        session.add(AuthorizationCopy(authorization_id=auth.authorization_id, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)


async def on_claims_acknowledged(session: AsyncSession, events: Sequence[Event]) -> None:
    """Submitted claims the payer accepted (277CA), the poll's in two statements."""
    answers = []
    for event in events:
        ack = event.data
        assert isinstance(ack, ClaimAcknowledged)
        answers.append(
            (ack.claim_id, ack.patient_control_number, ack.payer_claim_control_number, _actor(event))
        )
    await lifecycle.accept_claims(session, answers)


async def on_claims_rejected(session: AsyncSession, events: Sequence[Event]) -> None:
    """Claims the payer's front end rejected (277CA); one lookup for the poll."""
    rejections = [e.data for e in events]
    keys = [(r.claim_id, r.patient_control_number) for r in rejections]  # type: ignore[union-attr]
    for event, rej, claim in zip(events, rejections, await lifecycle.find_claims(session, keys), strict=True):
        assert isinstance(rej, ClaimRejected)
        if claim is None or claim.status not in ("submitted", "accepted"):
            continue
        reasons = "; ".join(f"{r.code}: {r.message}" for r in rej.reasons)[:500]
        lifecycle.set_status(session, claim, "rejected", _actor(event), f"277CA rejected: {reasons}")


async def on_payments_posted(session: AsyncSession, events: Sequence[Event]) -> None:
    """Insurers' adjudications, applied to their claims; one lookup for the poll (patients'
    payments are the payments service's business, not the claim's)."""
    mine = [e for e in events if isinstance(e.data, PaymentPosted) and e.data.source == "insurer"]
    keys = [(e.data.claim_id, e.data.patient_control_number) for e in mine]  # type: ignore[union-attr]
    claims = await lifecycle.find_claims(session, keys) if mine else []
    other_payers = await lifecycle.latest_other_payers(session, [c for c in claims if c is not None])
    for event, claim in zip(in_context(mine), claims, strict=True):
        posted = event.data
        assert isinstance(posted, PaymentPosted)
        if claim is None or claim.status in lifecycle.EDITABLE:
            continue
        await lifecycle.apply_payment(session, claim, posted, _actor(event), other_payers)


# Keyed by topic (the consumer subscribes to these).
HANDLERS = {
    "encounter.completed": batched(on_encounters_completed),
    "eligibility.checked": on_eligibility_checked,
    "authorization.recorded": on_authorization_recorded,
    "claim.acknowledged": batched(on_claims_acknowledged),
    "claim.rejected": batched(on_claims_rejected),
    "payment.posted": batched(on_payments_posted),
}
