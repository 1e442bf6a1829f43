"""HTTP for files coming in: a manual upload (billing offices download 999s, 277CAs and 835s
from payer portals by hand) that goes through the same processing as a polled file, the
received files (their raw text behind `gateway:x12`), and the review queue."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from services.gateway.inbound import usecases
from services.gateway.inbound.schemas import (
    X12_TYPES,
    FileKind,
    FileState,
    ReceivedFile,
    ReceivedFileRef,
    Resolution,
    ReviewItem,
    ReviewReason,
    Uploaded,
)
from services.gateway.partners.usecases import partners_by_id
from services.gateway.settings import gateway_settings
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader, idempotent_write
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import FieldError, Problem, ProblemError, invalid

router = APIRouter(tags=["received files"])
UploadFile = Annotated[AuditTrail, audited("received_file", "create", require_scopes("gateway:write"))]
ListFiles = Annotated[AuditTrail, audited("received_file", "list", require_scopes("gateway:read"))]
ReadFile = Annotated[AuditTrail, audited("received_file", "read", require_scopes("gateway:read"))]
ReadRawFile = Annotated[AuditTrail, audited("received_file_x12", "read", require_scopes("gateway:x12"))]
ListReview = Annotated[AuditTrail, audited("review_item", "list", require_scopes("gateway:read"))]
ResolveReview = Annotated[AuditTrail, audited("review_item", "resolve", require_scopes("gateway:write"))]
FilePage = Annotated[PageQuery, Depends(page_query(50, 200))]
UPLOAD_BODY = {"requestBody": {"content": {t: {"schema": {"type": "string"}} for t in X12_TYPES}}}
PartnerId = Annotated[
    str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="The trading partner it came from.")
]
FileName = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$", description="The file's name (no PHI), as downloaded."
    ),
]


def _not_found(what: str = "Received file") -> ProblemError:
    return ProblemError(404, "not-found", f"{what} not found")


async def _x12_body(request: Request) -> bytes:
    """The uploaded file: 415 for another media type, 413 over the gateway's file limit, 422
    when it is not an X12 interchange at all. Problems name the rule, never the content."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in X12_TYPES:
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Send the file as application/edi-x12 or text/plain",
            errors=[
                FieldError(field="header.Content-Type", rule="media_type", message="Use application/edi-x12.")
            ],
        )
    body = await request.body()
    limit = gateway_settings(request.app).max_file_bytes
    if len(body) > limit:
        raise ProblemError(
            413,
            "payload-too-large",
            "The file is larger than the gateway takes",
            f"Files up to {limit} bytes are taken (GATEWAY_MAX_FILE_BYTES).",
            errors=[FieldError(field="body", rule="max_bytes", message=f"At most {limit} bytes.")],
        )
    if not body.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"ISA"):
        raise invalid(("body", "x12_interchange", "The file must be an X12 interchange starting with ISA."))
    if b"\x00" in body:
        raise invalid(("body", "no_nul", "The file must not contain NUL characters."))
    return body


@router.post(
    "/v1/files",
    status_code=201,
    response_model=Uploaded,
    summary="Upload a TA1, 999, 277CA, 277 or 835 file by hand (raw body)",
    description="Body: the file as `application/edi-x12` or `text/plain`. It is kept exactly as received, "
    "then processed as a file polled from the partner's mailbox: acknowledgments and claim answers are "
    "published, an 835 becomes `remittance.received`, a file nobody can act on goes to the review queue "
    "(GET /v1/review). 201 with what it came to; 200 when this name and content were uploaded before "
    "(`new: false`, processed once). Idempotency-Key is honoured.",
    responses={200: {"model": Uploaded, "description": "Kept before; not processed again."}},
    openapi_extra=UPLOAD_BODY,
)
async def upload_file(
    request: Request,
    session: SessionDep,
    trail: UploadFile,
    partner_id: PartnerId = None,
    file_name: FileName = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    body = await _x12_body(request)
    partners = partners_by_id(request.app)
    if partner_id is not None and partner_id not in partners:
        raise invalid(
            ("query.partner_id", "known_partner", "Name a configured trading partner (GET /v1/partners).")
        )

    async def write() -> Any:
        view = await usecases.upload(
            session,
            partners=partners,
            partner_id=partner_id,
            file_name=file_name,
            content=body,
            actor=trail.actor,
        )
        return Uploaded.model_validate(view)

    outcome = await idempotent_write(
        session,
        scope="gateway-file-upload",
        actor=trail.actor,
        key=idempotency_key,
        request={"sha256": usecases.digest(body), "partner_id": partner_id, "file_name": file_name},
        write=write,
        required=False,
    )
    trail.resource_id = str(outcome.body["id"])
    outcome.status_code = 201 if outcome.body["new"] else 200
    return outcome.response(headers={"Location": f"/v1/files/{outcome.body['id']}"})


@router.get(
    "/v1/files", response_model=CursorPage[ReceivedFileRef], summary="Every file received, newest first"
)
async def list_files(
    session: SessionDep,
    _: ListFiles,
    page: FilePage,
    dates: Dates,
    state: FileState | None = None,
    kind: FileKind | None = None,
) -> CursorPage[ReceivedFileRef]:
    rows, cursor = await usecases.list_files(session, page, dates, state, kind)
    return CursorPage[ReceivedFileRef](
        items=[ReceivedFileRef.model_validate(dict(r._mapping)) for r in rows], next_cursor=cursor
    )


@router.get(
    "/v1/files/{file_id}",
    response_model=ReceivedFile,
    summary="A received file: its kind, state, located errors and warnings, counts and review items",
)
async def get_file(file_id: uuid.UUID, session: SessionDep, trail: ReadFile) -> ReceivedFile:
    trail.resource_id = str(file_id)
    view = await usecases.file_view(session, file_id)
    if view is None:
        raise _not_found()
    return ReceivedFile.model_validate(view)


@router.get(
    "/v1/files/{file_id}/x12",
    response_class=PlainTextResponse,
    summary="The file as received (PHI: needs `gateway:x12`; every read is audited)",
)
async def get_raw_file(file_id: uuid.UUID, session: SessionDep, trail: ReadRawFile) -> PlainTextResponse:
    trail.resource_id = str(file_id)
    x12 = await usecases.raw(session, file_id)
    if x12 is None:
        raise _not_found()
    return PlainTextResponse(x12, media_type="application/edi-x12")


@router.get(
    "/v1/review", response_model=CursorPage[ReviewItem], summary="Files nobody could act on, newest first"
)
async def list_review(
    session: SessionDep,
    _: ListReview,
    page: FilePage,
    reason: ReviewReason | None = None,
    resolved: bool = False,
) -> CursorPage[ReviewItem]:
    rows, cursor = await usecases.list_review(session, page, resolved, reason)
    return CursorPage[ReviewItem](
        items=[ReviewItem.model_validate(dict(r._mapping)) for r in rows], next_cursor=cursor
    )


def _resolution_route(action: str, resolution: str, summary: str) -> None:
    """POST /v1/review/{review_id}/<action>: reprocess and dismiss are one route each (their
    own summary and operation id) over one way of resolving an item: 404 for no such item,
    409 for one resolved already, else the file as it stands now."""

    async def resolve(
        review_id: uuid.UUID,
        request: Request,
        session: SessionDep,
        trail: ResolveReview,
        body: Resolution | None = None,
    ) -> ReceivedFile:
        trail.resource_id = str(review_id)
        async with session.begin():
            view = await usecases.resolve_review(
                session,
                review_id,
                resolution=resolution,
                actor=trail.actor,
                note=body.note if body else None,
                partners=partners_by_id(request.app),
            )
        if view is None:
            raise _not_found("Review item")
        if view == "resolved":
            raise ProblemError(409, "already-resolved", "The review item was resolved already")
        return ReceivedFile.model_validate(view)

    router.post(
        f"/v1/review/{{review_id}}/{action}",
        name=action,
        response_model=ReceivedFile,
        summary=summary,
        responses={409: {"model": Problem}},
    )(resolve)


_resolution_route(
    "reprocess", "reprocessed", "Take the file again now (after a fix), through the same processing"
)
_resolution_route("dismiss", "dismissed", "Close a review item without acting on the file (it stays kept)")
