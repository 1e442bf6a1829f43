"""HTTP for remittances: upload an 835, read its summary or (separately scoped) its raw
file, work the unmatched queue, register payer identifiers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.remittances.posting import ClaimCopy, match_unmatched, receive
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import FieldError, Problem, ProblemError
from shared.x12 import X12Error

router = APIRouter(tags=["remittances"])
ZERO = Decimal("0.00")
X12_TYPES = ("application/edi-x12", "text/plain")


class Warning835(BaseModel):
    field: str
    message: str


class ClaimLine(BaseModel):
    patient_control_number: str
    payer_claim_control_number: str | None
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    claim_id: uuid.UUID | None = None
    posting_id: uuid.UUID | None = None
    unmatched_id: uuid.UUID | None = None
    reason: str | None = None
    adjustments: list[dict[str, Any]] = Field(default_factory=list)


class Totals(BaseModel):
    deposit: Decimal = Field(description="BPR02, signed (D = debit is negative).")
    claims_paid: Decimal
    provider_adjustments: Decimal = Field(description="PLB total; positive amounts reduced the deposit.")
    posted: Decimal = Field(description="Matched claim payments less provider adjustments.")
    unmatched: Decimal = Field(description="Payments of claims waiting in the unmatched queue.")


class RemittanceSummary(BaseModel):
    id: uuid.UUID
    payer_id: str
    payer_name: str | None
    trace_number: str
    method: str
    amount: Decimal
    credit_debit: str
    paid_date: date | None
    received_at: datetime
    source: str
    duplicate: bool = False
    matched: list[ClaimLine]
    unmatched: list[ClaimLine]
    totals: Totals
    provider_level_adjustments: list[dict[str, Any]]
    warnings: list[Warning835]


class Posting(BaseModel):
    remittances: list[RemittanceSummary]


async def summary(
    session: AsyncSession, remittance_id: uuid.UUID, *, duplicate: bool = False
) -> RemittanceSummary:
    """What a remittance did: deposit, claims matched and parked, and the totals that tie."""
    r = (
        await session.execute(
            text(
                "SELECT r.*, p.name AS payer_name FROM remittances r LEFT JOIN payers p USING (payer_id) "
                "WHERE r.id = :id"
            ),
            {"id": remittance_id},
        )
    ).first()
    if r is None:
        raise ProblemError(404, "not-found", "Remittance not found")
    postings = (
        await session.execute(
            text("SELECT * FROM claim_postings WHERE remittance_id = :id ORDER BY clp_position, posted_at"),
            {"id": remittance_id},
        )
    ).all()
    parked = (
        await session.execute(
            text(
                "SELECT * FROM unmatched_claims WHERE remittance_id = :id AND "
                "resolved_at IS NULL ORDER BY (claim->>'position')::int"
            ),
            {"id": remittance_id},
        )
    ).all()
    plb = (
        await session.execute(
            text(
                "SELECT provider_id, reason_code, reference, amount FROM "
                "provider_adjustments WHERE remittance_id = :id"
            ),
            {"id": remittance_id},
        )
    ).all()
    matched = [
        ClaimLine(
            patient_control_number=p.patient_control_number,
            payer_claim_control_number=p.payer_claim_control_number,
            status_code=p.status_code,
            charge=p.charge,
            paid=p.paid,
            patient_responsibility=p.patient_responsibility,
            claim_id=p.claim_id,
            posting_id=p.id,
            adjustments=p.adjustments,
        )
        for p in postings
    ]
    unmatched = [
        ClaimLine(
            patient_control_number=u.patient_control_number,
            payer_claim_control_number=u.payer_claim_control_number,
            status_code=u.status_code,
            charge=u.charge,
            paid=u.paid,
            patient_responsibility=u.patient_responsibility,
            unmatched_id=u.id,
            reason=u.reason,
        )
        for u in parked
    ]
    claims_paid = sum((m.paid for m in matched), ZERO)
    plb_total = Decimal(r.provider_adjustments)
    deposit = Decimal(r.amount) if r.credit_debit == "C" else -Decimal(r.amount)
    return RemittanceSummary(
        id=r.id,
        payer_id=r.payer_id,
        payer_name=r.payer_name,
        trace_number=r.trace_number,
        method=r.method,
        amount=r.amount,
        credit_debit=r.credit_debit,
        paid_date=r.paid_date,
        received_at=r.received_at,
        source=r.source,
        duplicate=duplicate,
        matched=matched,
        unmatched=unmatched,
        totals=Totals(
            deposit=deposit,
            claims_paid=Decimal(r.claims_paid),
            provider_adjustments=plb_total,
            posted=claims_paid - plb_total,
            unmatched=sum((u.paid for u in unmatched), ZERO),
        ),
        provider_level_adjustments=[dict(p._mapping) for p in plb],
        warnings=[Warning835(**w) for w in r.warnings],
    )


def x12_problem(error: X12Error) -> ProblemError:
    """A refused 835: what is wrong and where (segment position, id, element), never data."""
    return ProblemError(
        422,
        "invalid-835",
        "The 835 cannot be posted",
        f"{error}. Nothing from this file was posted.",
        errors=[FieldError(field=error.pointer, rule="x12", message=error.message)],
    )


def decode_body(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


@router.post(
    "/v1/remittances",
    status_code=201,
    response_model=Posting,
    summary="Post an X12 005010X221A1 835 remittance (raw body)",
    description="Body: the raw 835 as `application/edi-x12` or `text/plain`. The whole file is checked "
    "(envelopes, segment counts, payer, balancing) before anything is posted; a refused file answers 422 "
    "with the segment position and element. The same payer and trace number (TRN02) posts once: a second "
    "upload answers 200 with the first posting (`duplicate: true`).",
    responses={415: {"model": Problem}, 422: {"model": Problem}},
    openapi_extra={"requestBody": {"content": {t: {"schema": {"type": "string"}} for t in X12_TYPES}}},
)
async def post_remittance(
    request: Request,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("remittance", "create", require_scopes("payments:write"))],
) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in X12_TYPES:
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Send the 835 as application/edi-x12 or text/plain",
            errors=[
                FieldError(field="header.Content-Type", rule="media_type", message="Use application/edi-x12.")
            ],
        )
    body = decode_body(await request.body())
    try:
        async with session.begin():
            outcomes = await receive(session, body, source="http", actor=trail.actor)
    except X12Error as exc:
        raise x12_problem(exc) from None
    summaries = [await summary(session, o.remittance_id, duplicate=o.duplicate) for o in outcomes]
    trail.resource_id = ",".join(str(o.remittance_id) for o in outcomes)[:128]
    created = any(not o.duplicate for o in outcomes)
    return JSONResponse(
        Posting(remittances=summaries).model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"Location": f"/v1/remittances/{outcomes[0].remittance_id}"},
    )


RemittanceId = Annotated[uuid.UUID, Path()]


@router.get(
    "/v1/remittances/{remittance_id}", response_model=RemittanceSummary, summary="A remittance's posting"
)
async def get_remittance(
    remittance_id: RemittanceId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("remittance", "read", require_scopes("payments:read"))],
) -> RemittanceSummary:
    trail.resource_id = str(remittance_id)
    return await summary(session, remittance_id)


@router.get(
    "/v1/remittances/{remittance_id}/x12",
    response_class=PlainTextResponse,
    summary="The raw 835 as received (PHI: needs `remittances:raw`; every read is audited)",
)
async def get_remittance_file(
    remittance_id: RemittanceId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("remittance_file", "read", require_scopes("remittances:raw"))],
) -> PlainTextResponse:
    trail.resource_id = str(remittance_id)
    row = (
        await session.execute(
            text("SELECT x12 FROM remittance_files WHERE remittance_id = :id"), {"id": remittance_id}
        )
    ).first()
    if row is None:
        raise ProblemError(404, "not-found", "Remittance not found")
    return PlainTextResponse(row.x12, media_type="application/edi-x12")


class UnmatchedOut(BaseModel):
    id: uuid.UUID
    remittance_id: uuid.UUID
    patient_control_number: str
    payer_claim_control_number: str | None
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    reason: str
    created_at: datetime
    resolved_posting_id: uuid.UUID | None
    resolved_at: datetime | None


@router.get(
    "/v1/unmatched", response_model=list[UnmatchedOut], summary="Remittance claims waiting for a match"
)
async def list_unmatched(
    session: SessionDep,
    _: Annotated[AuditTrail, audited("unmatched_claim", "list", require_scopes("payments:read"))],
    remittance_id: uuid.UUID | None = None,
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[UnmatchedOut]:
    rows = (
        await session.execute(
            text(
                "SELECT * FROM unmatched_claims WHERE (CAST(:r AS uuid) IS NULL OR remittance_id = :r) "
                "AND (:all OR resolved_at IS NULL) ORDER BY created_at, id LIMIT :n"
            ),
            {"r": remittance_id, "all": include_resolved, "n": limit},
        )
    ).all()
    return [UnmatchedOut.model_validate(r, from_attributes=True) for r in rows]


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim_id: uuid.UUID = Field(description="The claim (from claim.submitted) this remittance claim pays.")


class MatchOut(BaseModel):
    unmatched_id: uuid.UUID
    posting_id: uuid.UUID
    claim_id: uuid.UUID


@router.post(
    "/v1/unmatched/{unmatched_id}/match",
    response_model=MatchOut,
    summary="Post a parked remittance claim to a claim chosen by hand",
)
async def match(
    unmatched_id: uuid.UUID,
    body: MatchIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("unmatched_claim", "match", require_scopes("payments:write"))],
) -> MatchOut:
    trail.resource_id = str(unmatched_id)
    async with session.begin():
        row = (
            await session.execute(
                text(
                    "SELECT claim_id, patient_control_number, account_id, "
                    "payer_id, coverage_order, total_charge, "
                    "date_of_service FROM claim_copies WHERE claim_id = :c"
                ),
                {"c": body.claim_id},
            )
        ).first()
        if row is None:
            raise ProblemError(
                422,
                "unknown-claim",
                "No such claim",
                errors=[
                    FieldError(
                        field="body.claim_id", rule="exists", message="No claim.submitted with this id."
                    )
                ],
            )
        trail.patient_id = row.account_id
        copy = ClaimCopy(*row)
        posting_id = await match_unmatched(session, unmatched_id, copy, trail.actor)
        if posting_id is None:
            raise ProblemError(
                409,
                "not-open",
                "This item is already resolved or cannot be posted to that claim",
                retryable=False,
            )
    return MatchOut(unmatched_id=unmatched_id, posting_id=posting_id, claim_id=body.claim_id)


class PayerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    identifiers: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        default_factory=list, description="What the payer's 835s carry: N1*PR N104, REF*2U, or TRN03."
    )


@router.put("/v1/payers/{payer_id}", summary="Register a payer and the identifiers its 835s carry")
async def put_payer(
    payer_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")],
    body: PayerIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("payer", "update", require_scopes("payments:admin"))],
) -> dict[str, Any]:
    trail.resource_id = payer_id
    async with session.begin():
        await session.execute(
            text(
                "INSERT INTO payers (payer_id, name, identifiers) VALUES (:p, :n, :i) ON CONFLICT (payer_id) "
                "DO UPDATE SET name = excluded.name, identifiers = excluded.identifiers"
            ),
            {"p": payer_id, "n": body.name, "i": body.identifiers},
        )
    return {"payer_id": payer_id, "name": body.name, "identifiers": body.identifiers}


class RemittanceRef(BaseModel):
    id: uuid.UUID
    payer_id: str
    trace_number: str
    amount: Decimal
    paid_date: date | None
    source: str
    received_at: datetime


@router.get(
    "/v1/remittances", response_model=list[RemittanceRef], summary="Remittances received, newest first"
)
async def list_remittances(
    session: SessionDep,
    _: Annotated[AuditTrail, audited("remittance", "list", require_scopes("payments:read"))],
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    trace_number: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RemittanceRef]:
    rows = (
        await session.execute(
            text(
                "SELECT id, payer_id, trace_number, amount, paid_date, source, received_at FROM remittances "
                "WHERE (CAST(:p AS text) IS NULL OR payer_id = :p) "
                "AND (CAST(:t AS text) IS NULL OR trace_number = :t) ORDER BY received_at DESC LIMIT :n"
            ),
            {"p": payer_id, "t": trace_number, "n": limit},
        )
    ).all()
    return [RemittanceRef.model_validate(r, from_attributes=True) for r in rows]
