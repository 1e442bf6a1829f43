"""HTTP for 835s coming in: upload one, repair a received file, and read what became of
every file received (its raw text separately scoped)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from services.payments.intake.domain import CONFLICT, DUPLICATE, POSTED, answer_status
from services.payments.intake.usecases import FileResult
from services.payments.receipts import usecases
from services.payments.receipts.schemas import (
    X12_TYPES,
    FileOutcome,
    Received,
    ReceivedFile,
    ReceivedFileRef,
    SetOut,
)
from services.payments.remittances import usecases as remittances
from services.payments.remittances.domain import Issue
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import FieldError, Problem, ProblemError

router = APIRouter(tags=["remittances"])
CreateRemittance = Annotated[AuditTrail, audited("remittance", "create", require_scopes("payments:write"))]
RepairFile = Annotated[AuditTrail, audited("received_file", "repair", require_scopes("payments:write"))]
ReadFile = Annotated[AuditTrail, audited("received_file", "read", require_scopes("payments:read"))]
ListFiles = Annotated[AuditTrail, audited("received_file", "list", require_scopes("payments:read"))]
ReadRawFile = Annotated[AuditTrail, audited("remittance_file", "read", require_scopes("remittances:raw"))]
FilePage = Annotated[PageQuery, Depends(page_query(100, 1000))]
ANSWERS = {
    200: {"model": Received, "description": "Every set had been posted before (`duplicate: true`)."},
    202: {"model": Received, "description": "Every set waits for its payer (GET /v1/payer-needed)."},
    207: {"model": Received, "description": "The sets' outcomes differ: see `sets` (posted, refused, held)."},
    409: {"model": Problem, "description": "Every set conflicts with a remittance posted under its trace."},
    415: {"model": Problem},
    422: {"model": Problem, "description": "Nothing could be posted: every error, located."},
}
UPLOAD_BODY = {"requestBody": {"content": {t: {"schema": {"type": "string"}} for t in X12_TYPES}}}


def _not_found() -> ProblemError:
    return ProblemError(404, "not-found", "Received file not found")


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


def _located(error: dict[str, Any]) -> str:
    """An error as `message (segment 13, SE01)`, prefixed with its set's ST02."""
    fields = ("rule", "message", "position", "segment", "element", "transaction_set", "set_position")
    text = str(Issue(**{k: error.get(k) for k in fields}).error())  # type: ignore[arg-type]
    return f"ST02 {error['transaction_set']}: {text}" if error.get("transaction_set") else text


def _refused(result: FileResult, location: str) -> ProblemError:
    """422: nothing could be posted; every error, located as a 999 would (never data)."""
    errors = result.errors
    more = f"; and {len(errors) - 1} more error(s), see `errors`" if len(errors) > 1 else ""
    return ProblemError(
        422,
        "invalid-835",
        "The 835 cannot be posted",
        f"{_located(errors[0])}{more}. Nothing from this file was posted; it is kept at {location}.",
        errors=[
            FieldError(field=e["field"], rule=e["rule"], message=_located(e).split(" (segment")[0])
            for e in errors
        ],
        headers={"Location": location},
    )


def _conflict(result: FileResult, location: str) -> ProblemError:
    """409: the trace number was posted with other content; held for review, naming what
    differs (elements, never values)."""
    held = [s for s in result.sets if s.answers_as == CONFLICT]
    return ProblemError(
        409,
        "remittance-conflict",
        "A remittance with this payer and trace number was posted with other content",
        f"{len(held)} transaction set(s) differ from the remittance posted under the same payer and TRN02. "
        f"Nothing was posted from them and nothing was dropped: they are held for review "
        f"(GET /v1/remittance-reviews, the received file at {location}).",
        errors=[
            FieldError(
                field=d["field"],
                rule="differs_from_posted",
                message=f"ST02 {s.control_number}: {d['what']} from remittance {s.remittance_id}.",
            )
            for s in held
            for d in s.differences
        ],
        headers={"Location": location},
    )


async def answer(session: SessionDep, result: FileResult, trail: AuditTrail) -> JSONResponse:
    """The upload's answer (see ANSWERS): the status from the sets' outcomes."""
    location = f"/v1/received-files/{result.file_id}"
    trail.resource_id = str(result.file_id)
    status = answer_status([s.answers_as for s in result.sets])
    if status == 422:
        raise _refused(result, location)
    if status == 409:
        raise _conflict(result, location)
    summaries = [
        await remittances.summary(session, s.remittance_id, duplicate=s.outcome == DUPLICATE)
        for s in result.sets
        if s.remittance_id is not None and s.outcome in (POSTED, DUPLICATE)
    ]
    body = Received(
        received_file_id=result.file_id,
        outcome=result.outcome,  # type: ignore[arg-type]
        remittances=[s for s in summaries if s is not None],
        sets=[SetOut.model_validate(s) for s in result.sets],
    )
    trail.saw_in(body, "account_id")  # every patient account the file's claims name
    first = next((s.id for s in body.remittances), None)
    headers = {"Location": f"/v1/remittances/{first}" if status in (200, 201) and first else location}
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


@router.post(
    "/v1/remittances",
    status_code=201,
    response_model=Received,
    summary="Post an X12 005010X221A1 835 remittance (raw body)",
    description=(
        "Body: the raw 835 as `application/edi-x12` or `text/plain`. The file is kept first "
        "(GET /v1/received-files), then each ST/SE transaction set is decided on its own: a balanced "
        "set posts; a broken one is refused with every error found; the same payer, trace number "
        "(TRN02) and set content as a posted remittance is a duplicate (`duplicate: true`); the same "
        "trace with other content is a conflict held for review; a set whose payer (N1*PR, REF*2U, "
        "TRN03) is unknown waits for it. 201 when every set posted (or some were duplicates), 200 when "
        "all were duplicates, 207 when the sets' outcomes differ, 202 when all wait for their payer, "
        "409 when all conflict, 422 when nothing could be posted."
    ),
    responses=ANSWERS,  # type: ignore[arg-type]
    openapi_extra=UPLOAD_BODY,
)
async def post_remittance(request: Request, session: SessionDep, trail: CreateRemittance) -> JSONResponse:
    body = await x12_body(request)
    return await answer(session, await usecases.receive(session, body, actor=trail.actor), trail)


@router.post(
    "/v1/received-files/{file_id}/repair",
    status_code=201,
    response_model=Received,
    summary="Repair a received file: post a corrected 835 in its place",
    description="Body: the corrected 835 (all of it, or the sets to repair). It is kept as a new received "
    "file linked to the original (`repair_of`) and processed like an upload, with the same answers: sets "
    "already posted from the original come out as duplicates, not twice; the original's refused sets that "
    "the repair carries (same TRN02) become `repaired`.",
    responses={**ANSWERS, 404: {"model": Problem}},  # type: ignore[arg-type]
    openapi_extra=UPLOAD_BODY,
)
async def repair_file(
    file_id: uuid.UUID, request: Request, session: SessionDep, trail: RepairFile
) -> JSONResponse:
    trail.resource_id = str(file_id)
    if not await usecases.exists(session, file_id):
        raise _not_found()
    body = await x12_body(request)
    return await answer(
        session, await usecases.receive(session, body, actor=trail.actor, repair_of=file_id), trail
    )


@router.get(
    "/v1/received-files",
    response_model=CursorPage[ReceivedFileRef],
    summary="Every 835 received, newest first",
)
async def list_files(
    session: SessionDep,
    _: ListFiles,
    page: FilePage,
    dates: Dates,
    outcome: FileOutcome | None = None,
    source: Annotated[str | None, Query(pattern="^(http|kafka)$")] = None,
) -> CursorPage[ReceivedFileRef]:
    rows, cursor = await usecases.list_files(session, page, dates, outcome=outcome, source=source)
    return CursorPage[ReceivedFileRef](
        items=[ReceivedFileRef.model_validate(r) for r in rows], next_cursor=cursor
    )


@router.get(
    "/v1/received-files/{file_id}",
    response_model=ReceivedFile,
    summary="A received file: its outcome, every error, each set, its remittances, repairs and money",
    responses={404: {"model": Problem}},
)
async def get_file(file_id: uuid.UUID, session: SessionDep, trail: ReadFile) -> ReceivedFile:
    trail.resource_id = str(file_id)
    view = await usecases.file_view(session, file_id)
    if view is None:
        raise _not_found()
    return ReceivedFile.model_validate(view)


@router.get(
    "/v1/received-files/{file_id}/x12",
    response_class=PlainTextResponse,
    summary="The raw 835 as received (PHI: needs `remittances:raw`; every read is audited)",
)
async def get_raw_file(file_id: uuid.UUID, session: SessionDep, trail: ReadRawFile) -> PlainTextResponse:
    trail.resource_id = str(file_id)
    x12 = await usecases.raw(session, file_id)
    if x12 is None:
        raise _not_found()
    view = await usecases.file_view(session, file_id)
    for remittance_id in (view or {}).get("remittance_ids", []):  # the raw file names them all
        trail.saw_in(await remittances.summary(session, remittance_id), "account_id")
    return PlainTextResponse(x12, media_type="application/edi-x12")
