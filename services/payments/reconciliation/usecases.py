"""Matching deposits (automatically after an import and by the worker, or by hand with a
reason) and the reconciliation report for a range of bank and paid dates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.reconciliation import domain, store
from services.payments.reconciliation.domain import Expected
from services.payments.reconciliation.schemas import (
    MatchedDeposit,
    MatchIn,
    MatchOut,
    Reconciliation,
    UnmatchedDeposit,
    UnmatchedRemittance,
    UnmatchIn,
)
from shared.paging import CursorPage, PageQuery
from shared.problems import FieldError, ProblemError

# The report's sections by the status their matches have.
SECTIONS = {"matched": "matched", "discrepancies": "discrepancy"}


async def auto_match(session: AsyncSession, deposit_ids: Sequence[uuid.UUID], actor: str) -> int:
    """Match these deposits (those still open) by rule, in the caller's transaction."""
    return await _match(session, await store.open_deposits(session, deposit_ids), actor)


async def match_open(session: AsyncSession, actor: str, limit: int = 500) -> int:
    """Match open deposits whose 835 or card batch has arrived since (the worker's round)."""
    return await _match(session, await store.claim_matchable(session, limit), actor)


async def _match(session: AsyncSession, deposits: Sequence[Any], actor: str) -> int:
    if not deposits:
        return 0
    traces = [x.trace_number for x in deposits if x.kind == "eft" and x.trace_number]
    checks = [domain.check_number(x.check_number) for x in deposits if x.kind == "check" and x.check_number]
    batches = [x.batch_id for x in deposits if x.kind == "card" and x.batch_id]
    expected = [
        Expected("remittance", str(r.id), r.trace_number, r.amount, r.method, r.trace_originator)
        for r in await store.open_remittances(session, traces, [c for c in checks if c])
    ]
    expected += [
        Expected("batch", b.batch_id, b.batch_id, b.amount)
        for b in await store.open_batches(session, batches)
    ]
    ended = await store.ended_pairs(session, [x.id for x in deposits])
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "deposit_id": f.deposit_id,
            "remittance_id": uuid.UUID(f.expected.key) if f.expected.target == "remittance" else None,
            "card_batch": f.expected.key if f.expected.target == "batch" else None,
            "rule": f.rule,
            "status": f.status,
            "deposit_amount": f.deposit_amount,
            "expected_amount": f.expected.amount,
            "matched_by": actor,
            "matched_at": now,
        }
        for f in domain.match(deposits, expected, ended)
    ]
    return await store.insert_matches(session, rows) if rows else 0


def _conflict(slug: str, title: str, field: str, message: str) -> ProblemError:
    return ProblemError(409, slug, title, errors=[FieldError(field=field, rule="unique", message=message)])


async def match_by_hand(session: AsyncSession, deposit_id: uuid.UUID, body: MatchIn, actor: str) -> MatchOut:
    """A person's match, with a reason: 404 for an unknown deposit, 422 for an unknown 835 or
    batch, 409 when either side is matched already (unmatch it first)."""
    async with session.begin():
        deposit = await store.lock_deposit(session, deposit_id)
        if deposit is None:
            raise ProblemError(404, "not-found", "Deposit not found")
        if await store.current_match(session, deposit_id) is not None:
            raise _conflict(
                "deposit-matched", "The deposit is matched already", "path.deposit_id", "Unmatch it first."
            )
        if body.remittance_id is not None:
            expected, field = await store.remittance_amount(session, body.remittance_id), "body.remittance_id"
        else:
            assert body.card_batch is not None
            expected, field = await store.batch_total(session, body.card_batch), "body.card_batch"
        if expected is None:
            raise ProblemError(
                422,
                "validation-error",
                "The request is not valid",
                errors=[FieldError(field=field, rule="exists", message="No such remittance or card batch.")],
            )
        if await store.target_taken(session, body.remittance_id, body.card_batch):
            raise _conflict(
                "target-matched", "That 835 or batch is matched already", field, "Unmatch it first."
            )
        row = {
            "id": uuid.uuid4(),
            "deposit_id": deposit_id,
            "remittance_id": body.remittance_id,
            "card_batch": body.card_batch,
            "rule": "manual",
            "status": domain.status(deposit.amount, expected, accept_difference=body.accept_difference),
            "deposit_amount": deposit.amount,
            "expected_amount": expected,
            "reason": body.reason,
            "matched_by": actor,
            "matched_at": datetime.now(UTC),
        }
        if not await store.insert_matches(session, [row]):
            raise _conflict("deposit-matched", "Matched concurrently", "path.deposit_id", "Read it again.")
        made = await store.current_match(session, deposit_id)
    return domain.match_out(made)


async def unmatch_by_hand(
    session: AsyncSession, deposit_id: uuid.UUID, body: UnmatchIn, actor: str
) -> MatchOut:
    """End a deposit's current match, with a reason (kept with the match; the pair is not
    matched again automatically). 404 for an unknown deposit, 409 when it is not matched."""
    async with session.begin():
        if await store.lock_deposit(session, deposit_id) is None:
            raise ProblemError(404, "not-found", "Deposit not found")
        current = await store.current_match(session, deposit_id)
        if current is None:
            raise _conflict(
                "deposit-unmatched", "The deposit is not matched", "path.deposit_id", "Nothing to undo."
            )
        await store.end_match(session, current.id, by=actor, reason=body.reason, at=datetime.now(UTC))
    return domain.match_out(current)


async def matches_of(session: AsyncSession, deposit_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, MatchOut]:
    """The current match of each of these deposits that has one."""
    return {
        row.deposit_id: domain.match_out(row) for row in await store.current_matches(session, deposit_ids)
    }


async def unmatched_deposits(
    session: AsyncSession, date_from: date, date_to: date, as_of: date, page: PageQuery
) -> CursorPage[UnmatchedDeposit]:
    """A page of the range's deposits matched to nothing, aged from their bank date."""
    rows, cursor = await store.unmatched_deposits(session, date_from, date_to, page)
    items = [
        UnmatchedDeposit(
            deposit_id=x.id,
            age_days=domain.age(x.bank_date, as_of),
            **{
                k: getattr(x, k) for k in UnmatchedDeposit.model_fields if k not in ("deposit_id", "age_days")
            },
        )
        for x in rows
    ]
    return CursorPage[UnmatchedDeposit](items=items, next_cursor=cursor)


async def unmatched_remittances(
    session: AsyncSession, date_from: date, date_to: date, as_of: date, page: PageQuery
) -> CursorPage[UnmatchedRemittance]:
    """A page of the range's 835s no deposit was matched to, aged from BPR16 (or receipt)."""
    rows, cursor = await store.unmatched_remittances(session, date_from, date_to, page)
    items = [
        UnmatchedRemittance(
            remittance_id=x.id,
            payer_id=x.payer_id,
            trace_number=x.trace_number,
            method=x.method,
            amount=x.amount if x.credit_debit == "C" else -x.amount,
            paid_date=x.paid_date,
            received_at=x.received_at,
            age_days=domain.age(x.paid_date or x.received_at.date(), as_of),
        )
        for x in rows
    ]
    return CursorPage[UnmatchedRemittance](items=items, next_cursor=cursor)


async def matches(
    session: AsyncSession, date_from: date, date_to: date, section: str, page: PageQuery
) -> CursorPage[MatchedDeposit]:
    """A page of the range's current matches of one section ('matched' or 'discrepancies'),
    in the order the deposits were imported."""
    rows, cursor = await store.matches_in_range(session, date_from, date_to, SECTIONS[section], page)
    return CursorPage[MatchedDeposit](items=[domain.matched_deposit(x) for x in rows], next_cursor=cursor)


async def reconcile(
    session: AsyncSession, date_from: date, date_to: date, as_of: date, limit: int
) -> Reconciliation:
    """The range's deposits against its 835s: the totals over all of them, and the first page
    (`limit` items) of each section; the sections' routes page on. (One answer with every match
    of a year ran to megabytes.)"""
    first = PageQuery(None, limit)
    return Reconciliation(
        date_from=date_from,
        date_to=date_to,
        as_of=as_of,
        totals=domain.totals(
            await store.totals(session, date_from, date_to), await store.unapplied_patient_credit(session)
        ),
        matched=await matches(session, date_from, date_to, "matched", first),
        discrepancies=await matches(session, date_from, date_to, "discrepancies", first),
        unmatched_deposits=await unmatched_deposits(session, date_from, date_to, as_of, first),
        unmatched_remittances=await unmatched_remittances(session, date_from, date_to, as_of, first),
    )
