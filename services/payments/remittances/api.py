"""HTTP for remittances: upload an 835, read its summary or (separately scoped) its raw
file, list what came in, register payer identifiers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from services.payments.remittances import usecases
from services.payments.remittances.schemas import (
    X12_TYPES,
    PayerId,
    PayerIn,
    Posting,
    RemittanceId,
    RemittanceRef,
    RemittanceSummary,
)
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import FieldError, Problem, ProblemError
from shared.x12 import X12Error

router = APIRouter(tags=["remittances"])
CreateRemittance = Annotated[AuditTrail, audited("remittance", "create", require_scopes("payments:write"))]
ReadRemittance = Annotated[AuditTrail, audited("remittance", "read", require_scopes("payments:read"))]
ReadRemittanceFile = Annotated[
    AuditTrail, audited("remittance_file", "read", require_scopes("remittances:raw"))
]
ListRemittances = Annotated[AuditTrail, audited("remittance", "list", require_scopes("payments:read"))]
UpdatePayer = Annotated[AuditTrail, audited("payer", "update", require_scopes("payments:admin"))]
RemittancePage = Annotated[PageQuery, Depends(page_query(100, 1000))]


def _not_found() -> ProblemError:
    return ProblemError(404, "not-found", "Remittance not found")


async def get_current_remittance(
    remittance_id: RemittanceId, session: SessionDep, trail: ReadRemittance
) -> RemittanceSummary:
    """The remittance of the path, or 404 (audited as a read of that id either way)."""
    trail.resource_id = str(remittance_id)
    summary = await usecases.summary(session, remittance_id)
    if summary is None:
        raise _not_found()
    return summary


CurrentRemittance = Annotated[RemittanceSummary, Depends(get_current_remittance)]


def x12_problem(error: X12Error) -> ProblemError:
    """A refused 835: what is wrong and where (segment position, id, element), never data."""
    return ProblemError(
        422,
        "invalid-835",
        "The 835 cannot be posted",
        f"{error}. Nothing from this file was posted.",
        errors=[FieldError(field=error.pointer, rule="x12", message=error.message)],
    )


async def x12_body(request: Request) -> str:
    """The raw 835 of an upload (415 for another media type), as text."""
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
    body = await request.body()
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
async def post_remittance(request: Request, session: SessionDep, trail: CreateRemittance) -> JSONResponse:
    body = await x12_body(request)
    try:
        async with session.begin():
            outcomes = await usecases.receive(session, body, source="http", actor=trail.actor)
    except X12Error as exc:
        raise x12_problem(exc) from None
    summaries = [await usecases.summary(session, o.remittance_id, duplicate=o.duplicate) for o in outcomes]
    trail.resource_id = ",".join(str(o.remittance_id) for o in outcomes)[:128]
    created = any(not o.duplicate for o in outcomes)
    return JSONResponse(
        Posting(remittances=[s for s in summaries if s is not None]).model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"Location": f"/v1/remittances/{outcomes[0].remittance_id}"},
    )


@router.get(
    "/v1/remittances/{remittance_id}", response_model=RemittanceSummary, summary="A remittance's posting"
)
async def get_remittance(remittance: CurrentRemittance) -> RemittanceSummary:
    return remittance


@router.get(
    "/v1/remittances/{remittance_id}/x12",
    response_class=PlainTextResponse,
    summary="The raw 835 as received (PHI: needs `remittances:raw`; every read is audited)",
)
async def get_remittance_file(
    remittance_id: RemittanceId, session: SessionDep, trail: ReadRemittanceFile
) -> PlainTextResponse:
    trail.resource_id = str(remittance_id)
    x12 = await usecases.raw_file(session, remittance_id)
    if x12 is None:
        raise _not_found()
    return PlainTextResponse(x12, media_type="application/edi-x12")


@router.put("/v1/payers/{payer_id}", summary="Register a payer and the identifiers its 835s carry")
async def put_payer(
    payer_id: PayerId, body: PayerIn, session: SessionDep, trail: UpdatePayer
) -> dict[str, Any]:
    trail.resource_id = payer_id
    await usecases.register_payer(session, payer_id, body.name, body.identifiers)
    return {"payer_id": payer_id, "name": body.name, "identifiers": body.identifiers}


@router.get(
    "/v1/remittances",
    response_model=CursorPage[RemittanceRef],
    summary="Remittances received, newest first",
)
async def list_remittances(
    session: SessionDep,
    _: ListRemittances,
    page: RemittancePage,
    dates: Dates,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    trace_number: Annotated[str | None, Query(max_length=50)] = None,
) -> CursorPage[RemittanceRef]:
    rows, cursor = await usecases.list_remittances(
        session, page, dates, payer_id=payer_id, trace_number=trace_number
    )
    items = [RemittanceRef.model_validate(r, from_attributes=True) for r in rows]
    return CursorPage[RemittanceRef](items=items, next_cursor=cursor)
