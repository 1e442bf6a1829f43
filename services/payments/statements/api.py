"""HTTP for statements: run the cycle for a date, read one as JSON, HTML or PDF."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from services.payments.dunning import usecases as cycle
from services.payments.statements import usecases
from services.payments.statements.domain import render_html, render_pdf
from services.payments.statements.schemas import CycleOut, StatementOut
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep

router = APIRouter(tags=["statements"])

RunCycle = Annotated[AuditTrail, audited("statement_cycle", "run", require_scopes("payments:admin"))]
ReadStatement = Annotated[AuditTrail, audited("statement", "read", require_scopes("payments:read"))]


async def get_current_statement(statement_id: uuid.UUID, session: SessionDep, trail: ReadStatement) -> Any:
    """The statement in the path (404 otherwise), with the audit trail told whose it is."""
    trail.resource_id = str(statement_id)
    row = await usecases.statement_or_404(session, statement_id)
    trail.patient_id = row.account_id
    return row


CurrentStatement = Annotated[Any, Depends(get_current_statement)]


@router.post(
    "/v1/statements/run-cycle",
    response_model=CycleOut,
    summary="Issue statements for a date: start the dunning of accounts that owe, take due steps",
    description="Requires `payments:admin`. Accounts that owe and are in no dunning sequence get their first "
    "statement; accounts in one take their next step if its time has come (one step per account). A "
    "statement is never dated before a date of service on it: 422 naming `query.statement_date` and the "
    "rule `not_before_date_of_service`, and nothing is written.",
)
async def run_cycle(
    session: SessionDep,
    trail: RunCycle,
    statement_date: Annotated[date | None, Query(description="Default today.")] = None,
    account_id: Annotated[str | None, Query(max_length=64, description="Only this account.")] = None,
) -> CycleOut:
    when = statement_date or date.today()
    async with session.begin():
        result = await cycle.run_cycle(session, when, account_id=account_id, start=True, with_plans=False)
    trail.saw(result.accounts)  # a statement batch: every account it issued to
    return CycleOut(statement_date=when, issued=result.statements_issued)


@router.get("/v1/statements/{statement_id}", response_model=StatementOut, summary="A statement")
async def get_statement(statement: CurrentStatement) -> StatementOut:
    return StatementOut(
        id=statement.id,
        account_id=statement.account_id,
        statement_date=statement.statement_date,
        due_date=statement.due_date,
        amount_due=statement.amount_due,
        lines=statement.content["lines"],
        issued_at=statement.issued_at,
        **{k: statement.content[k] for k in _MORE if statement.content.get(k) is not None},
    )


_MORE = ("visits", "totals", "practice", "remit_to", "how_to_pay", "past_due", "recipient", "patient_name")


@router.get("/v1/statements/{statement_id}/html", response_class=HTMLResponse, summary="A statement as HTML")
async def get_statement_html(statement: CurrentStatement) -> HTMLResponse:
    return HTMLResponse(render_html(statement))


@router.get("/v1/statements/{statement_id}/pdf", summary="A statement as PDF", response_class=Response)
async def get_statement_pdf(statement: CurrentStatement) -> Response:
    return Response(render_pdf(statement), media_type="application/pdf")
