"""Working denials: the queue, giving a denial to someone, closing it with how it ended, and
appeals from filing (with the generated letter) to the payer's decision."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims import store as claims_store, usecases as claims
from services.claims.claims.domain import data_of, now
from services.claims.claims.tables import Claim
from services.claims.denials import domain, store
from services.claims.denials.domain import Recommendation
from services.claims.denials.schemas import AppealIn, AppealOut, DenialFilters, DenialOut, ResolveIn
from services.claims.denials.tables import Appeal, Denial
from services.claims.receivables import usecases as receivables
from services.claims.reference import store as reference
from shared import templates
from shared.events.catalogue import Adjustment, DenialResolved, PaymentPosted
from shared.paging import CursorPage, PageQuery, paginate
from shared.problems import ProblemError

TEMPLATES = ("claims-denials", Path(__file__).parent / "templates")
templates.add_template_dir(*TEMPLATES)  # once, at import (as every sub-domain with templates)


def denial_out(denial: Denial, when: datetime) -> DenialOut:
    """A denial as the API shows it, with its age in days at `when`."""
    return DenialOut.model_validate({**denial.model_dump(), "age_days": (when - denial.denied_at).days})


async def get_denial(session: AsyncSession, denial_id: uuid.UUID, *, lock: bool = False) -> Denial:
    """The denial, or a 404 problem."""
    denial = await store.get_denial(session, denial_id, lock=lock)
    if denial is None:
        raise ProblemError(404, "not-found", "Denial not found")
    return denial


async def queue(session: AsyncSession, filters: DenialFilters, page: PageQuery) -> CursorPage[DenialOut]:
    """One page of the work queue, oldest first (worked in the order denials came)."""
    when = now()
    stmt = store.queue_statement(filters, when)
    rows, cursor = await paginate(
        session, stmt, page, Denial.denied_at, Denial.id, key=lambda d: (d.denied_at, d.id), oldest_first=True
    )
    return CursorPage[DenialOut](items=[denial_out(d, when) for d in rows], next_cursor=cursor)


def queue_denial(
    session: AsyncSession,
    claim: Claim,
    posted: PaymentPosted,
    adjustments: list[Adjustment],
    advice: Recommendation,
    remark_codes: list[str],
    denied_amount: Decimal,
    when: datetime,
) -> None:
    """A denied (or partly denied) claim into the work queue, under its largest adjustment,
    with the recommended action and why."""
    main = max(adjustments, key=lambda a: a.amount)
    denial = Denial(
        id=uuid.uuid4(),
        claim_id=claim.id,
        payer_id=claim.payer_id,
        patient_id=claim.patient_id,
        reason_code=main.reason_code,
        group_code=main.group_code,
        adjustments=[a.model_dump(mode="json") for a in adjustments],
        remark_codes=remark_codes,
        action=advice.action,
        why=advice.why,
        denied_amount=denied_amount,
        payer_claim_control_number=posted.payer_claim_control_number,
        denied_at=when,
    )
    store.add(session, denial)


def assign(session: AsyncSession, denial: Denial, assignee: str) -> None:
    if denial.status == "resolved":
        raise ProblemError(409, "resolved", "The denial is already resolved")
    denial.assignee, denial.status = assignee, "assigned"
    store.add(session, denial)


MOVED_IN_PAYMENTS = ("written_off", "billed_patient")


async def resolve(session: AsyncSession, denial: Denial, body: ResolveIn, actor: str) -> None:
    """Close a denial; billing another payer closes its claim too (what is left is another
    payer's claim's). Writing it off or billing the patient moves money, so it is done in
    payments (a write-off with a second person's approval), which tells claims (denial.resolved)."""
    if body.resolution in MOVED_IN_PAYMENTS:
        raise ProblemError(
            409,
            "resolve-in-payments",
            "Write-offs and patient billing are done in payments",
            "A denied balance leaves A/R in payments: POST /v1/denials/{claim_id}/write-off (approved by a "
            "second person) or /bill-patient (PR denials only) on the payments service; claims then closes "
            "the denial and the claim, so both A/Rs agree.",
            retryable=False,
        )
    denial.status, denial.resolved_at = "resolved", now()
    denial.resolution = body.resolution + (f": {body.note}" if body.note else "")
    store.add(session, denial)
    if body.resolution in ("written_off", "billed_patient", "billed_other_payer"):
        claim = await claims.get_claim(session, denial.claim_id, lock=True)
        if claim.status in ("denied", "partial", "appealed"):
            claims.set_status(session, claim, "closed", actor, f"denial resolved: {body.resolution}")


async def file_appeal(session: AsyncSession, claim: Claim, body: AppealIn, actor: str) -> Appeal:
    """Appeal the claim's latest open denial (or the one named) with a generated letter; the
    denial is resolved as appealed and the claim becomes appealed."""
    if claim.status not in ("denied", "partial"):
        raise ProblemError(409, "not-denied", "Nothing to appeal", f"The claim is {claim.status}.")
    denial = await store.latest_open_denial(session, claim.id, body.denial_id)
    if denial is None:
        raise ProblemError(409, "no-open-denial", "No open denial on this claim")
    history = await claims_store.history(session, claim.id)
    accepted_at = next((h.changed_at for h in history if h.to_status == "accepted"), None)
    appeal = Appeal(
        id=uuid.uuid4(),
        claim_id=claim.id,
        denial_id=denial.id,
        letter=render_letter(claim, denial, body.facts, body.signer, accepted_at=accepted_at),
        filed_by=actor,
        filed_at=now(),
    )
    store.add(session, appeal)
    denial.status, denial.resolved_at, denial.resolution = "resolved", appeal.filed_at, "appealed"
    store.add(session, denial)
    claims.set_status(session, claim, "appealed", actor, f"appeal {appeal.id} filed")
    return appeal


async def appeals(session: AsyncSession, claim: Claim, page: PageQuery) -> CursorPage[AppealOut]:
    """One page of a claim's appeals, in the order filed."""
    stmt = store.appeals_statement(claim.id)
    rows, cursor = await paginate(
        session, stmt, page, Appeal.filed_at, Appeal.id, key=lambda a: (a.filed_at, a.id), oldest_first=True
    )
    items = [AppealOut.model_validate(a, from_attributes=True) for a in rows]
    return CursorPage[AppealOut](items=items, next_cursor=cursor)


async def get_appeal(session: AsyncSession, claim: Claim, appeal_id: uuid.UUID) -> Appeal:
    """The claim's appeal, locked, or a 404 problem."""
    appeal = await store.get_appeal(session, appeal_id, lock=True)
    if appeal is None or appeal.claim_id != claim.id:
        raise ProblemError(404, "not-found", "Appeal not found")
    return appeal


async def decide_appeal(
    session: AsyncSession, appeal: Appeal, outcome: str, note: str | None, actor: str
) -> None:
    """The payer's decision on a filed appeal; a lost appeal closes the claim, a won one waits
    for the payer's new payment (payment.posted moves the claim on)."""
    if appeal.status != "filed":
        raise ProblemError(409, "decided", "The appeal already has an outcome")
    appeal.status, appeal.outcome_note, appeal.decided_at = outcome, note, now()
    store.add(session, appeal)
    claim = await claims.get_claim(session, appeal.claim_id)  # loaded (and locked) with the appeal
    if outcome == "lost" and claim.status == "appealed":
        claims.set_status(session, claim, "closed", actor, "appeal lost")


def render_letter(
    claim: Claim, denial: Denial, facts: list[str], signer: str, *, accepted_at: datetime | None
) -> str:
    """The appeal letter, for the payer (its recipient; PHI in it is for the payer and never
    logged): what the payer files the claim by (patient, date of birth, member id, its claim
    number, dates of service, codes billed), the denial's codes with their descriptions, and
    an argument answering each reason denied. `accepted_at`: the payer's 277CA acceptance."""
    data = data_of(claim)
    payer = reference.payers().get(claim.payer_id)
    carcs, rarcs = reference.carc_descriptions(), reference.rarc_descriptions()
    first_submitted = claim.first_submitted_at or claim.submitted_at
    letter = templates.template(f"{TEMPLATES[0]}/appeal_letter.txt.j2").render(
        **domain.letter_parties(data),
        **domain.filing_facts(
            data, first_submitted, accepted_at, payer.timely_filing_days if payer else None
        ),
        today=date.today().isoformat(),
        payer_name=payer.name if payer else claim.payer_id,
        patient_control_number=claim.patient_control_number,
        payer_claim_control_number=denial.payer_claim_control_number or claim.payer_claim_control_number,
        dates_of_service=", ".join(sorted({line.date_of_service.isoformat() for line in data.lines})),
        total_charge=f"{data.total_charge:.2f}",
        denied_amount=f"{denial.denied_amount:.2f}",
        denied_on=denial.denied_at.date().isoformat(),
        adjustments=[{**a, "description": carcs.get(a["reason_code"], "")} for a in denial.adjustments],
        remarks=domain.described(denial.remark_codes, rarcs),
        arguments=domain.arguments_for(denial.adjustments),
        diagnoses=data.diagnoses,
        lines=[
            {
                "code": line.code or line.revenue_code,  # an institutional line by its revenue code
                "modifiers": line.modifiers,
                "units": line.units,
                "date_of_service": line.date_of_service.isoformat(),
                "charge": f"{line.charge:.2f}",
            }
            for line in data.lines
        ],
        prior_authorization_number=data.prior_authorization_number,
        coverage_order=data.coverage_order,
        other_payers=[
            reference.payers()[o.payer_id].name if o.payer_id in reference.payers() else o.payer_id
            for o in data.other_coverages
        ],
        original_payer_claim_control_number=data.original_payer_claim_control_number,
        facts=facts,
        signer=signer,
        provider_name=data.billing_provider.name or "Billing provider",
        provider_npi=data.billing_provider.npi,
    )
    return letter + "\n"  # the file's last newline, which the shared environment drops


async def resolved_in_payments(session: AsyncSession, resolved: DenialResolved, actor: str) -> None:
    """A denied balance worked in payments (denial.resolved): it leaves claims' A/R too, the
    claim's open denials are resolved so, and a claim its payer no longer owes anything on is
    closed out of A/R. A claim unknown here is ignored."""
    claim = await claims_store.get_claim(session, resolved.claim_id, lock=True)
    if claim is None:
        return
    owed = await receivables.on_worked(session, claim, resolved)
    how = "written off" if resolved.resolution == "written_off" else "billed to the patient"
    note = f"{resolved.resolution}: in payments" + (
        f", approval {resolved.approval_id}" if resolved.approval_id else ""
    )
    await store.resolve_open(session, claim.id, note, now())
    if owed <= 0 and claim.status in ("denied", "partial", "appealed"):
        claims.set_status(session, claim, "closed", actor, f"denial {how} in payments ({resolved.amount})")
