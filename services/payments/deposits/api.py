"""HTTP for bank deposits: upload a BAI2 (or CSV) bank file, read what it imported, list the
files received (refused ones included), read one deposit."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.payments.deposits import usecases
from services.payments.deposits.schemas import BAI2_TYPES, CSV_TYPES, BankFileRef, BankImport, DepositOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.idempotency import IdempotencyKeyHeader
from shared.paging import CursorPage, Dates, PageQuery, page_query
from shared.problems import FieldError, Problem, ProblemError

router = APIRouter(tags=["reconciliation"])

CreateBankFile = Annotated[
    AuditTrail, audited("bank_deposit_file", "create", require_scopes("payments:write"))
]
ReadBankFile = Annotated[AuditTrail, audited("bank_deposit_file", "read", require_scopes("payments:read"))]
ListBankFiles = Annotated[AuditTrail, audited("bank_deposit_file", "list", require_scopes("payments:read"))]
ReadDeposit = Annotated[AuditTrail, audited("bank_deposit", "read", require_scopes("payments:read"))]
FilePage = Annotated[PageQuery, Depends(page_query(50, 500))]


async def bank_file(request: Request) -> tuple[str, str]:
    """The uploaded file as text and its format, from the media type (415 for another)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = "bai2" if content_type in BAI2_TYPES else "csv" if content_type in CSV_TYPES else None
    if fmt is None:
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Send a BAI2 file as text/plain or application/octet-stream, or a CSV as text/csv",
            errors=[FieldError(field="header.Content-Type", rule="media_type", message="Use text/plain.")],
        )
    body = await request.body()
    try:
        return body.decode("utf-8"), fmt
    except UnicodeDecodeError:
        return body.decode("latin-1"), fmt


BankFile = Annotated[tuple[str, str], Depends(bank_file)]


@router.post(
    "/v1/bank-deposits",
    status_code=201,
    response_model=BankImport,
    summary="Import a bank file (BAI2, or CSV) of deposits and match them to 835s and card batches",
    description="Body: the raw BAI2 file (`text/plain` or `application/octet-stream`; records 01, 02, "
    "03, 16, 88, 49, 98, 99; amounts in cents; the group's as-of date is the bank date), or a CSV "
    "(`text/csv`) with a header naming `date` (YYYY-MM-DD), `amount` (plain decimal, negative for a "
    "debit), `type` (ach, eft, wire, check, card, other) and optionally `reference` (the EFT trace), "
    "`check_number`, `batch_id`, `description`. Needs an Idempotency-Key. The file is kept before it is "
    "read; a file that cannot be read answers 422 naming each record (`record[4].16.amount`) or row "
    "(`row[2].amount`) and rule, and is kept as refused. The same file again answers 200 with the first "
    "import (`duplicate: true`) and does nothing.",
    responses={200: {"model": BankImport}, 415: {"model": Problem}, 422: {"model": Problem}},
    openapi_extra={
        "requestBody": {"content": {t: {"schema": {"type": "string"}} for t in (*BAI2_TYPES, *CSV_TYPES)}}
    },
)
async def post_bank_deposits(
    session: SessionDep, trail: CreateBankFile, upload: BankFile, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    content, fmt = upload
    outcome = await usecases.receive(session, content, fmt, actor=trail.actor, key=idempotency_key)
    trail.resource_id = str(outcome.body["id"])
    return outcome.response(headers={"Location": f"/v1/bank-deposit-files/{outcome.body['id']}"})


@router.get(
    "/v1/bank-deposit-files",
    response_model=CursorPage[BankFileRef],
    summary="Bank files received, newest first (refused ones with their errors)",
    description="`date_from`/`date_to`: the day received (UTC).",
)
async def list_bank_files(
    session: SessionDep,
    _: ListBankFiles,
    page: FilePage,
    dates: Dates,
    status: Annotated[Literal["received", "imported", "refused"] | None, Query()] = None,
) -> CursorPage[BankFileRef]:
    return await usecases.list_files(session, page, dates, status)


@router.get(
    "/v1/bank-deposit-files/{file_id}",
    response_model=BankImport,
    summary="A bank file's import: its outcome and deposits, each with its match",
)
async def get_bank_file(file_id: uuid.UUID, session: SessionDep, trail: ReadBankFile) -> BankImport:
    trail.resource_id = str(file_id)
    return await usecases.file_or_404(session, file_id)


@router.get("/v1/bank-deposits/{deposit_id}", response_model=DepositOut, summary="A deposit and its match")
async def get_deposit(deposit_id: uuid.UUID, session: SessionDep, trail: ReadDeposit) -> DepositOut:
    trail.resource_id = str(deposit_id)
    return await usecases.deposit_or_404(session, deposit_id)
