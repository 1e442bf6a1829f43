"""Denials work queue and appeals: who works which denial, what was sent, how it ended."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims import lifecycle, reference
from services.claims.models import Appeal, Claim, Denial
from services.claims.routes import load
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import Problem, ProblemError

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - a plain-text letter, never rendered as HTML
    keep_trailing_newline=True,
)

denials_router = APIRouter(prefix="/v1/denials", tags=["denials"])
appeals_router = APIRouter(prefix="/v1/claims", tags=["denials"])

Action = Literal["correct_and_resubmit", "appeal", "bill_patient", "write_off"]


class DenialOut(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    payer_id: str
    patient_id: str
    reason_code: str
    group_code: str
    adjustments: list[dict[str, Any]]
    remark_codes: list[str]
    action: str
    denied_amount: Decimal
    payer_claim_control_number: str | None
    status: str
    assignee: str | None
    resolution: str | None
    denied_at: datetime
    resolved_at: datetime | None
    age_days: int


def denial_out(d: Denial) -> DenialOut:
    age = (lifecycle.now() - d.denied_at).days
    return DenialOut.model_validate({**d.model_dump(), "age_days": age})


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str = Field(min_length=1, max_length=128)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: Literal["corrected", "appealed", "billed_patient", "written_off", "paid"]
    note: str | None = Field(default=None, max_length=500)


async def _denial(session: AsyncSession, denial_id: uuid.UUID) -> Denial:
    denial = await session.get(Denial, denial_id, with_for_update=True)
    if denial is None:
        raise ProblemError(404, "not-found", "Denial not found")
    return denial


@denials_router.get("", response_model=list[DenialOut], summary="The denials work queue, oldest first")
async def list_denials(
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("denial", "list", require_scopes("claims:read"))],
    reason: Annotated[str | None, Query(max_length=5, description="CARC reason code.")] = None,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    status_: Annotated[Literal["open", "assigned", "resolved"] | None, Query(alias="status")] = None,
    action: Annotated[Action | None, Query()] = None,
    assignee: Annotated[str | None, Query(max_length=128)] = None,
    min_age_days: Annotated[int | None, Query(ge=0)] = None,
    max_age_days: Annotated[int | None, Query(ge=0)] = None,
    claim_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DenialOut]:
    stmt = select(Denial)
    if reason:
        stmt = stmt.where(Denial.reason_code == reason)
    if payer_id:
        stmt = stmt.where(Denial.payer_id == payer_id)
    if status_:
        stmt = stmt.where(Denial.status == status_)
    else:
        stmt = stmt.where(Denial.status != "resolved")
    if action:
        stmt = stmt.where(Denial.action == action)
    if assignee:
        stmt = stmt.where(Denial.assignee == assignee)
    if claim_id:
        stmt = stmt.where(Denial.claim_id == claim_id)
    now = lifecycle.now()
    if min_age_days is not None:
        stmt = stmt.where(col(Denial.denied_at) <= now - timedelta(days=min_age_days))
    if max_age_days is not None:
        stmt = stmt.where(col(Denial.denied_at) >= now - timedelta(days=max_age_days))
    rows = (await session.exec(stmt.order_by(col(Denial.denied_at)).limit(limit))).all()
    return [denial_out(d) for d in rows]


@denials_router.post("/{denial_id}/assign", response_model=DenialOut, summary="Give a denial to someone")
async def assign_denial(
    denial_id: uuid.UUID,
    body: AssignIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("denial", "assign", require_scopes("claims:write"))],
) -> DenialOut:
    trail.resource_id = str(denial_id)
    async with session.begin():
        denial = await _denial(session, denial_id)
        trail.patient_id = denial.patient_id
        if denial.status == "resolved":
            raise ProblemError(409, "resolved", "The denial is already resolved")
        denial.assignee, denial.status = body.assignee, "assigned"
        session.add(denial)
    return denial_out(denial)


@denials_router.post(
    "/{denial_id}/resolve", response_model=DenialOut, summary="Close a denial with how it ended"
)
async def resolve_denial(
    denial_id: uuid.UUID,
    body: ResolveIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("denial", "resolve", require_scopes("claims:write"))],
) -> DenialOut:
    trail.resource_id = str(denial_id)
    async with session.begin():
        denial = await _denial(session, denial_id)
        trail.patient_id = denial.patient_id
        denial.status, denial.resolved_at = "resolved", lifecycle.now()
        denial.resolution = body.resolution + (f": {body.note}" if body.note else "")
        session.add(denial)
        if body.resolution in ("written_off", "billed_patient"):
            claim = await load(session, denial.claim_id, lock=True)
            if claim.status in ("denied", "partial", "appealed"):
                lifecycle.set_status(
                    session, claim, "closed", trail.actor, f"denial resolved: {body.resolution}"
                )
    return denial_out(denial)


# --- appeals ------------------------------------------------------------------------------


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    denial_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the claim's latest open denial."
    )
    facts: list[str] = Field(min_length=1, max_length=20, description="Supporting facts the letter cites.")
    signer: str = Field(default="Billing Office", min_length=1, max_length=100)


class AppealOutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["won", "lost"]
    note: str | None = Field(default=None, max_length=500)


class AppealOut(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    denial_id: uuid.UUID
    letter: str
    status: str
    outcome_note: str | None
    filed_by: str
    filed_at: datetime
    decided_at: datetime | None


def render_letter(claim: Claim, denial: Denial, facts: list[str], signer: str) -> str:
    """The appeal letter: cites the claim, the denial's codes and the supporting facts."""
    data = lifecycle.data_of(claim)
    payer = reference.payers().get(claim.payer_id)
    descriptions = reference.carc().get("descriptions", {})
    return TEMPLATES.get_template("appeal_letter.txt.j2").render(
        today=date.today().isoformat(),
        payer_name=payer.name if payer else claim.payer_id,
        patient_id=claim.patient_id,
        patient_control_number=claim.patient_control_number,
        payer_claim_control_number=denial.payer_claim_control_number or claim.payer_claim_control_number,
        dates_of_service=", ".join(sorted({line.date_of_service.isoformat() for line in data.lines})),
        total_charge=f"{data.total_charge:.2f}",
        denied_amount=f"{denial.denied_amount:.2f}",
        denied_on=denial.denied_at.date().isoformat(),
        adjustments=[
            {**a, "description": descriptions.get(a["reason_code"], "")} for a in denial.adjustments
        ],
        remark_codes=denial.remark_codes,
        lines=[
            {
                "code": line.code,
                "modifiers": line.modifiers,
                "units": line.units,
                "date_of_service": line.date_of_service.isoformat(),
                "charge": f"{line.charge:.2f}",
            }
            for line in data.lines
        ],
        prior_authorization_number=data.prior_authorization_number,
        facts=facts,
        signer=signer,
        provider_name=data.billing_provider.name or "Billing provider",
        provider_npi=data.billing_provider.npi,
    )


@appeals_router.post(
    "/{claim_id}/appeals",
    status_code=status.HTTP_201_CREATED,
    response_model=AppealOut,
    summary="Appeal a denial; the letter is generated",
    responses={409: {"model": Problem}},
)
async def file_appeal(
    claim_id: uuid.UUID,
    body: AppealIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("appeal", "create", require_scopes("claims:write"))],
) -> AppealOut:
    async with session.begin():
        claim = await load(session, claim_id, lock=True)
        trail.patient_id = claim.patient_id
        if claim.status not in ("denied", "partial"):
            raise ProblemError(409, "not-denied", "Nothing to appeal", f"The claim is {claim.status}.")
        stmt = select(Denial).where(Denial.claim_id == claim.id, Denial.status != "resolved")
        if body.denial_id:
            stmt = stmt.where(Denial.id == body.denial_id)
        denial = (await session.exec(stmt.order_by(col(Denial.denied_at).desc()))).first()
        if denial is None:
            raise ProblemError(409, "no-open-denial", "No open denial on this claim")
        appeal = Appeal(
            id=uuid.uuid4(),
            claim_id=claim.id,
            denial_id=denial.id,
            letter=render_letter(claim, denial, body.facts, body.signer),
            filed_by=trail.actor,
            filed_at=lifecycle.now(),
        )
        session.add(appeal)
        denial.status, denial.resolved_at, denial.resolution = "resolved", appeal.filed_at, "appealed"
        session.add(denial)
        lifecycle.set_status(session, claim, "appealed", trail.actor, f"appeal {appeal.id} filed")
    trail.resource_id = str(appeal.id)
    return AppealOut.model_validate(appeal, from_attributes=True)


@appeals_router.get("/{claim_id}/appeals", response_model=list[AppealOut], summary="A claim's appeals")
async def list_appeals(
    claim_id: uuid.UUID,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("appeal", "list", require_scopes("claims:read"))],
) -> list[AppealOut]:
    claim = await load(session, claim_id)
    trail.patient_id, trail.resource_id = claim.patient_id, str(claim_id)
    rows = (
        await session.exec(select(Appeal).where(Appeal.claim_id == claim_id).order_by(col(Appeal.filed_at)))
    ).all()
    return [AppealOut.model_validate(a, from_attributes=True) for a in rows]


@appeals_router.post(
    "/{claim_id}/appeals/{appeal_id}/outcome",
    response_model=AppealOut,
    summary="Record the payer's decision on an appeal",
)
async def appeal_outcome(
    claim_id: uuid.UUID,
    appeal_id: uuid.UUID,
    body: AppealOutcomeIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("appeal", "decide", require_scopes("claims:write"))],
) -> AppealOut:
    trail.resource_id = str(appeal_id)
    async with session.begin():
        claim = await load(session, claim_id, lock=True)
        trail.patient_id = claim.patient_id
        appeal = await session.get(Appeal, appeal_id, with_for_update=True)
        if appeal is None or appeal.claim_id != claim_id:
            raise ProblemError(404, "not-found", "Appeal not found")
        if appeal.status != "filed":
            raise ProblemError(409, "decided", "The appeal already has an outcome")
        appeal.status, appeal.outcome_note, appeal.decided_at = body.outcome, body.note, lifecycle.now()
        session.add(appeal)
        if body.outcome == "lost" and claim.status == "appealed":
            lifecycle.set_status(session, claim, "closed", trail.actor, "appeal lost")
        # A won appeal waits for the payer's new payment (payment.posted moves the claim on).
    return AppealOut.model_validate(appeal, from_attributes=True)
