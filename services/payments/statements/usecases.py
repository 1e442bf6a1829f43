"""Issuing statements and reading them back. The caller owns the transaction; the account
cycle (services/payments/dunning) decides when an account gets one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.parties.usecases import Parties, parties_of
from services.payments.settings import payments_settings
from services.payments.statements import domain, store
from shared.events import new_event
from shared.events.catalogue import StatementIssued
from shared.outbox import add_event
from shared.problems import FieldError, ProblemError


def refuse_backdated(statement_date: date, last_service_dates: Sequence[date | None]) -> None:
    """422 when a statement dated `statement_date` would carry a service after that date: a
    statement states what is owed on its date, so it cannot predate a service on it (nor be due
    before the patient could have been billed). Names the field and the rule, not the dates."""
    if any(d is not None and d > statement_date for d in last_service_dates):
        raise ProblemError(
            422,
            "validation",
            "A statement cannot be dated before a date of service on it",
            errors=[
                FieldError(
                    field="query.statement_date",
                    rule="not_before_date_of_service",
                    message="The statement date is before the latest date of service it would carry.",
                )
            ],
        )


def _recipient(parties: Parties | None) -> tuple[dict[str, Any] | None, str | None]:
    """Who the statement is addressed to (the guarantor: name and mailing address only) and
    the patient's name when that is someone else (whose visits these are)."""
    if parties is None:
        return None, None
    g = parties.guarantor
    a = g.get("address") or {}
    lines = [x for x in (a.get("line1"), a.get("line2")) if x]
    if a:
        lines.append(f"{a['city']}, {a['state']} {a['postal_code']}")
    patient = parties.patient["name"] if parties.relationship != "self" else None
    return {"name": g["name"], "address_lines": lines}, patient


async def content(
    session: AsyncSession, account_id: str, amount_due: Decimal, past_due_since: date | None
) -> dict[str, Any]:
    """What the statement says, kept with it as issued: the practice and how to pay, whom it
    is to, each visit (procedures, insurer, the patient's share by reason, what they paid),
    the totals, and whether the balance is past due."""
    rows = await store.item_sums(session, account_id)
    claims = await store.claims_of(session, [r.item_id for r in rows if r.item_id is not None])
    visits = domain.apply_credit([domain.visit(r, claims.get(r.item_id)) for r in rows])
    recipient, patient_name = _recipient((await parties_of(session, [account_id])).get(account_id))
    s = payments_settings()
    as_content = [v.as_content() for v in visits]
    return {
        "lines": [domain.old_line(v) for v in as_content],
        "visits": as_content,
        "totals": domain.totals(visits, amount_due),
        "explanations": domain.explanations(visits),
        "practice": {"name": s.practice_name, "address": s.practice_address, "phone": s.practice_phone},
        "remit_to": {"name": s.remit_to_name, "address": s.remit_to_address},
        "how_to_pay": {"portal_url": s.payment_portal_url, "phone": s.billing_phone},
        "recipient": recipient,
        "patient_name": patient_name,
        "past_due": {"since": past_due_since.isoformat()} if past_due_since else None,
    }


async def issue(
    session: AsyncSession,
    account_id: str,
    amount_due: Decimal,
    statement_date: date,
    *,
    notice_id: uuid.UUID,
    past_due_since: date | None = None,
) -> tuple[uuid.UUID, date] | None:
    """Issue the account's statement for `statement_date` with `statement.issued` (told to the
    patient in the cycle's notice `notice_id`); None when it already has one for that date."""
    due_date = statement_date + timedelta(days=payments_settings().statement_due_days)
    statement_id, now = uuid.uuid4(), datetime.now(UTC)
    inserted = await store.add_statement(
        session,
        id=statement_id,
        account_id=account_id,
        statement_date=statement_date,
        due_date=due_date,
        amount_due=amount_due,
        content=await content(session, account_id, amount_due, past_due_since),
        issued_at=now,
    )
    if not inserted:
        return None
    event = StatementIssued(
        statement_id=statement_id,
        account_id=account_id,
        balance=amount_due,
        due_date=due_date,
        issued_at=now,
        notice_id=notice_id,
    )
    add_event(session, new_event(event))
    return statement_id, due_date


async def statement_or_404(session: AsyncSession, statement_id: uuid.UUID) -> Any:
    row = await store.get_statement(session, statement_id)
    if row is None:
        raise ProblemError(404, "not-found", "Statement not found")
    return row
