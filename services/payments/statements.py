"""Patient statements: a cycle issues one per account that owes money, read from the ledger
(charges, what insurance paid, adjustments, patient payments, amount due and due date),
fetchable as JSON, HTML (Jinja2) and PDF (fpdf2); each publishes `statement.issued`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from fpdf import FPDF
from jinja2 import Environment, select_autoescape
from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.settings import payments_settings
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.events import new_event
from shared.events.catalogue import StatementIssued
from shared.outbox import add_event
from shared.problems import ProblemError

SOURCE = "/services/payments"
ZERO = Decimal("0.00")
router = APIRouter(tags=["statements"])

TEMPLATE = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Statement {{ s.statement_date }}</title>
<style>body{font-family:sans-serif;max-width:48em;margin:2em auto}td,th{padding:.3em .6em;text-align:left}
td.n,th.n{text-align:right}tfoot td{font-weight:bold;border-top:1px solid #000}</style></head>
<body>
<h1>Patient statement</h1>
<p>Account {{ s.account_id }} &middot; statement date {{ s.statement_date }} &middot;
<strong>amount due {{ "%.2f"|format(s.amount_due) }} by {{ s.due_date }}</strong></p>
<table>
<thead><tr><th>Service date</th><th>Item</th><th class="n">Charges</th><th class="n">Insurance paid</th>
<th class="n">Adjustments</th><th class="n">Your payments</th><th class="n">You owe</th></tr></thead>
<tbody>{% for line in s.content.lines %}<tr><td>{{ line.service_date or "" }}</td>
<td>{{ line.description }}</td>
<td class="n">{{ line.charges }}</td><td class="n">{{ line.insurance_paid }}</td>
<td class="n">{{ line.adjustments }}</td><td class="n">{{ line.patient_paid }}</td>
<td class="n">{{ line.due }}</td></tr>
{% endfor %}</tbody>
<tfoot><tr><td colspan="6">Amount due by {{ s.due_date }}</td>
<td class="n">{{ "%.2f"|format(s.amount_due) }}</td></tr></tfoot>
</table>
</body></html>"""
)


async def statement_lines(session: AsyncSession, account_id: str) -> list[dict[str, Any]]:
    """Per open item (and unapplied money): charges, insurance paid, adjustments, patient paid, due."""
    rows = (
        await session.execute(
            text(
                "SELECT item_id, min(service_date) AS service_date, "
                "min(description) FILTER (WHERE entry_type = 'charge') AS description, "
                "coalesce(sum(amount) FILTER (WHERE entry_type = 'charge'), 0) AS charges, "
                "coalesce(-sum(amount) FILTER (WHERE entry_type = "
                "'insurance_payment'), 0) AS insurance_paid, "
                "coalesce(-sum(amount) FILTER (WHERE entry_type = 'adjustment'), 0) AS adjustments, "
                "coalesce(-sum(amount) FILTER (WHERE entry_type IN "
                "('payment', 'refund')), 0) AS patient_paid, "
                "coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) AS due "
                "FROM ledger_entries WHERE account_id = :a GROUP BY item_id "
                "HAVING coalesce(sum(amount) FILTER (WHERE bucket = 'patient'), 0) <> 0 "
                "ORDER BY min(service_date) NULLS LAST, min(id)"
            ),
            {"a": account_id},
        )
    ).all()
    return [
        {
            "item_id": str(r.item_id) if r.item_id else None,
            "service_date": r.service_date.isoformat() if r.service_date else None,
            "description": r.description or ("Unapplied credit" if r.item_id is None else "Services"),
            "charges": str(Decimal(r.charges)),
            "insurance_paid": str(Decimal(r.insurance_paid)),
            "adjustments": str(Decimal(r.adjustments)),
            "patient_paid": str(Decimal(r.patient_paid)),
            "due": str(Decimal(r.due)),
        }
        for r in rows
    ]


class CycleOut(BaseModel):
    statement_date: date
    issued: list[uuid.UUID]


async def run_statement_cycle(
    session: AsyncSession, statement_date: date, account_id: str | None = None
) -> list[uuid.UUID]:
    """One statement per account whose patient balance is positive (once per date)."""
    due_date = statement_date + timedelta(days=payments_settings().statement_due_days)
    accounts = (
        await session.execute(
            text(
                "SELECT account_id, sum(amount) AS due FROM ledger_entries WHERE bucket = 'patient' "
                "AND (CAST(:a AS text) IS NULL OR account_id = :a) GROUP BY account_id HAVING sum(amount) > 0"
            ),
            {"a": account_id},
        )
    ).all()
    issued = []
    now = datetime.now(UTC)
    for acct in accounts:
        lines = await statement_lines(session, acct.account_id)
        statement_id = uuid.uuid4()
        inserted = (
            await session.execute(
                text(
                    "INSERT INTO statements (id, account_id, statement_date, "
                    "due_date, amount_due, content, issued_at) "
                    "VALUES (:id, :a, :d, :due, :amt, CAST(:c AS jsonb), :now) "
                    "ON CONFLICT (account_id, statement_date) DO NOTHING RETURNING id"
                ),
                {
                    "id": statement_id,
                    "a": acct.account_id,
                    "d": statement_date,
                    "due": due_date,
                    "amt": acct.due,
                    "c": json.dumps({"lines": lines}),
                    "now": now,
                },
            )
        ).first()
        if inserted is None:
            continue
        add_event(
            session,
            new_event(
                StatementIssued(
                    statement_id=statement_id,
                    account_id=acct.account_id,
                    balance=acct.due,
                    due_date=due_date,
                    issued_at=now,
                ),
                source=SOURCE,
            ),
        )
        issued.append(statement_id)
    return issued


@router.post("/v1/statements/run-cycle", response_model=CycleOut, summary="Issue statements for a date")
async def run_cycle(
    session: SessionDep,
    _: Annotated[AuditTrail, audited("statement_cycle", "run", require_scopes("payments:admin"))],
    statement_date: Annotated[date | None, Query(description="Default today.")] = None,
    account_id: Annotated[str | None, Query(max_length=64, description="Only this account.")] = None,
) -> CycleOut:
    when = statement_date or date.today()
    async with session.begin():
        issued = await run_statement_cycle(session, when, account_id)
    return CycleOut(statement_date=when, issued=issued)


async def _load(session: AsyncSession, statement_id: uuid.UUID, trail: AuditTrail) -> Any:
    trail.resource_id = str(statement_id)
    row = (
        await session.execute(text("SELECT * FROM statements WHERE id = :id"), {"id": statement_id})
    ).first()
    if row is None:
        raise ProblemError(404, "not-found", "Statement not found")
    trail.patient_id = row.account_id
    return row


class StatementOut(BaseModel):
    id: uuid.UUID
    account_id: str
    statement_date: date
    due_date: date
    amount_due: Decimal
    lines: list[dict[str, Any]]
    issued_at: datetime


StatementTrail = Annotated[AuditTrail, audited("statement", "read", require_scopes("payments:read"))]


@router.get("/v1/statements/{statement_id}", response_model=StatementOut, summary="A statement")
async def get_statement(statement_id: uuid.UUID, session: SessionDep, trail: StatementTrail) -> StatementOut:
    row = await _load(session, statement_id, trail)
    return StatementOut(
        id=row.id,
        account_id=row.account_id,
        statement_date=row.statement_date,
        due_date=row.due_date,
        amount_due=row.amount_due,
        lines=row.content["lines"],
        issued_at=row.issued_at,
    )


@router.get("/v1/statements/{statement_id}/html", response_class=HTMLResponse, summary="A statement as HTML")
async def get_statement_html(
    statement_id: uuid.UUID, session: SessionDep, trail: StatementTrail
) -> HTMLResponse:
    row = await _load(session, statement_id, trail)
    return HTMLResponse(TEMPLATE.render(s=row))


def render_pdf(row: Any) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Patient statement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.cell(
        0, 6, f"Account {row.account_id}   Statement date {row.statement_date}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.cell(0, 6, f"Amount due {row.amount_due:.2f} by {row.due_date}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (24, 46, 22, 24, 24, 24, 22)
    headers = ("Date", "Item", "Charges", "Ins. paid", "Adjust.", "You paid", "You owe")
    pdf.set_font("Helvetica", "B", 9)
    for w, h in zip(widths, headers, strict=True):
        pdf.cell(w, 7, h, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for line in row.content["lines"]:
        values = (
            line["service_date"] or "",
            line["description"][:28],
            line["charges"],
            line["insurance_paid"],
            line["adjustments"],
            line["patient_paid"],
            line["due"],
        )
        for w, v in zip(widths, values, strict=True):
            pdf.cell(w, 7, str(v), border=1)
        pdf.ln()
    return bytes(pdf.output())


@router.get("/v1/statements/{statement_id}/pdf", summary="A statement as PDF", response_class=Response)
async def get_statement_pdf(statement_id: uuid.UUID, session: SessionDep, trail: StatementTrail) -> Response:
    row = await _load(session, statement_id, trail)
    return Response(render_pdf(row), media_type="application/pdf")
