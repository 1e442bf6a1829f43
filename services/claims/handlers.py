"""Events the claims service consumes.

The broker is shared with partners and other services: an event about a claim we do not
know (another system's, or a test's) is ignored, never an error.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims import lifecycle, reference
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
from shared.consumer import PermanentError
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
from shared.problems import ProblemError

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


async def on_encounter_completed(session: AsyncSession, event: Event) -> None:
    """A claim per encounter (once: the encounter id is unique), scrubbed, and submitted when
    clean if the practice's policy says so."""
    enc = event.data
    assert isinstance(enc, EncounterCompleted)
    sources = [s.strip() for s in get_claims_settings().encounter_sources.split(",") if s.strip()]
    if sources and event.source not in sources:
        return  # another practice's EHR
    # Claims created earlier in this consumer batch stay pending (not flushed) so the whole
    # batch's claims, history and outbox rows go out in a few multi-row INSERTs at commit; the
    # queries below see them through `pending` instead of an autoflush per encounter. Anything
    # else pending (an eligibility copy, a changed claim) is flushed first, as autoflush would.
    pending = await lifecycle.flush_unless_only_new_claims(session)
    with session.no_autoflush:
        existing = (await session.exec(select(Claim).where(Claim.encounter_id == enc.encounter_id))).first()
        if existing is not None or any(c.encounter_id == enc.encounter_id for c in pending):
            return
        actor = _actor(event)
        try:
            data = claim_data_from_encounter(enc)
        except ValidationError as exc:
            where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
            raise PermanentError(f"encounter cannot become a claim: {where}") from None
        # The scrub's queries run before the claim joins the session, so the claim is inserted
        # once, in its final state, with its history and outbox rows (instead of INSERT,
        # flush, then UPDATE): fewer statements and round trips per encounter.
        claim = lifecycle.new_claim(data, actor, encounter_id=enc.encounter_id)
        context = await lifecycle.scrub_context(session, claim, data, pending=pending)
    lifecycle.add_created(session, claim, actor)
    findings = lifecycle.record_scrub(session, claim, actor, data, context)
    if reference.auto_submit_encounter_claims() and not any(f.severity == "error" for f in findings):
        try:
            await lifecycle.submit(session, claim, actor, findings=findings, data=data)
        except ProblemError:
            pass  # stays for a person to work


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


async def on_claim_acknowledged(session: AsyncSession, event: Event) -> None:
    ack = event.data
    assert isinstance(ack, ClaimAcknowledged)
    claim = await lifecycle.find_claim(session, ack.claim_id, ack.patient_control_number)
    if claim is None or claim.status not in ("submitted",):
        return
    if ack.payer_claim_control_number:
        claim.payer_claim_control_number = ack.payer_claim_control_number
    lifecycle.set_status(session, claim, "accepted", _actor(event), "277CA accepted")


async def on_claim_rejected(session: AsyncSession, event: Event) -> None:
    rej = event.data
    assert isinstance(rej, ClaimRejected)
    claim = await lifecycle.find_claim(session, rej.claim_id, rej.patient_control_number)
    if claim is None or claim.status not in ("submitted", "accepted"):
        return
    reasons = "; ".join(f"{r.code}: {r.message}" for r in rej.reasons)[:500]
    lifecycle.set_status(session, claim, "rejected", _actor(event), f"277CA rejected: {reasons}")


async def on_payment_posted(session: AsyncSession, event: Event) -> None:
    posted = event.data
    assert isinstance(posted, PaymentPosted)
    if posted.source != "insurer":
        return
    claim = await lifecycle.find_claim(session, posted.claim_id, posted.patient_control_number)
    if claim is None or claim.status in ("draft", "ready", "rejected"):
        return
    await lifecycle.apply_payment(session, claim, posted, _actor(event))


# Keyed by topic (the consumer subscribes to these).
HANDLERS = {
    "encounter.completed": on_encounter_completed,
    "eligibility.checked": on_eligibility_checked,
    "authorization.recorded": on_authorization_recorded,
    "claim.acknowledged": on_claim_acknowledged,
    "claim.rejected": on_claim_rejected,
    "payment.posted": on_payment_posted,
}
