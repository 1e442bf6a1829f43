"""The account cycle: plan installments, one dunning step per account, one notice per account.
The caller owns the transaction (the whole cycle is one)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.account_holds import usecases as holds
from services.payments.accounts.usecases import account_summary
from services.payments.collections import usecases as collections
from services.payments.dunning import domain, store
from services.payments.dunning.domain import Notice, Policy
from services.payments.dunning.schemas import CycleResult, DunningOut, NextStep, StepOut
from services.payments.plans import usecases as plans
from services.payments.plans.domain import installment_due, installment_late
from services.payments.settings import payments_settings
from services.payments.statements import store as statements, usecases as statement_usecases
from shared.events import new_event
from shared.events.catalogue import AccountNoticeIssued, NoticePart, PaymentLate
from shared.outbox import add_event


@dataclass
class _Cycle:
    """One run: its date, what it found, and what it tells each account."""

    as_of: date
    now: datetime
    strict: bool  # a statement run refuses (422) what a background cycle only skips
    result: CycleResult
    policy: Policy = field(default_factory=lambda: Policy.of(payments_settings()))
    notices: dict[str, Notice] = field(default_factory=dict)
    stepped: set[str] = field(default_factory=set)

    def notice(self, account_id: str) -> Notice:
        return self.notices.setdefault(account_id, Notice(account_id))


async def run_cycle(
    session: AsyncSession,
    as_of: date,
    *,
    account_id: str | None = None,
    start: bool = False,
    with_plans: bool = True,
) -> CycleResult:
    """One cycle for `as_of`: installments coming due and missed, plans that broke the policy
    (final notice), one dunning step per account whose time has come, and, for a statement
    run (`start`), the first statement of accounts that owe and are in no sequence. Then one
    `account_notice.issued` per account told anything, its parts in order. Cycles run one at a
    time (a lock), so an account hears once per cycle whichever replica runs it."""
    await store.lock_cycle(session)
    cycle = _Cycle(as_of, datetime.now(UTC), strict=start, result=CycleResult(as_of=as_of))
    if with_plans:
        await _installments(session, cycle)
        await _broken_plans(session, cycle)
    await store.close_paid(session, as_of)
    await _advance(session, cycle, account_id)
    if start:
        await _start(session, cycle, account_id)
    await _publish(session, cycle)
    cycle.result.accounts = sorted(cycle.notices)
    return cycle.result


async def _installments(session: AsyncSession, cycle: _Cycle) -> None:
    """Installments coming due (a reminder) and missed (a late notice), each once."""
    due = await plans.installments_coming_due(session, cycle.as_of, cycle.now)
    late = await plans.installments_missed(session, cycle.as_of, cycle.now)
    for kind, rows in (("installment_due", due), ("installment_late", late)):
        for row in rows:
            notice = cycle.notice(row.account_id)
            notice.parts.append(domain.installment_part(kind, row, cycle.as_of))
            event = (
                installment_due(row, notice.id)
                if kind == "installment_due"
                else installment_late(cycle.as_of, row, notice.id)
            )
            add_event(session, new_event(event))
    cycle.result.installments_due, cycle.result.installments_late = len(due), len(late)


async def _broken_plans(session: AsyncSession, cycle: _Cycle) -> None:
    """A plan that broke the policy defaults, and its account gets the final notice (the step
    of its sequence for this cycle)."""
    for plan, why in await plans.default_broken_plans(session, cycle.as_of):
        sequence = await store.open_sequence(session, plan.account_id)
        taken = [s for s in await store.open_steps(session, plan.account_id)]
        if sequence is None:
            sequence = await store.start_sequence(session, plan.account_id, cycle.as_of, cycle.now)
        await _final_notice(session, cycle, sequence, len(taken) + 1, plan.account_id, why, plan.id)


async def _advance(session: AsyncSession, cycle: _Cycle, account_id: str | None) -> None:
    """Each open sequence whose next step's time has come takes it, unless a dispute, a hold or
    an active plan holds it or the account already took a step in this cycle. A hold from
    collections only (an assistance application, financing) lets statements go on and holds
    the final notice and the referral."""
    rows = await store.open_steps(session, account_id)
    by_account = {a: list(steps) for a, steps in groupby(rows, key=lambda r: r.account_id)}
    held = await holds.held_accounts(session, list(by_account))
    for account, taken in by_account.items():
        if account in cycle.stepped or account in held.statements:
            continue
        kind = cycle.policy.next_step(taken, cycle.as_of)
        if held.from_step(account, kind) or await plans.has_active_plan(session, account):
            continue
        sequence, step = taken[-1].sequence_id, taken[-1].step + 1
        if kind == "statement":
            first_due = next((s.statement_due for s in taken if s.kind == "statement"), None)
            await _statement(session, cycle, sequence, step, account, first_due)
        elif kind == "final_notice":
            await _final_notice(
                session, cycle, sequence, step, account, domain.unpaid_reason(taken, cycle.as_of)
            )
        elif kind == "collections":
            await _refer(session, cycle, sequence, step, account, taken[-1])


async def _start(session: AsyncSession, cycle: _Cycle, account_id: str | None) -> None:
    """A statement run: the first statement of each account that owes and is in no sequence,
    no dispute or hold from statements, no active plan and not with the agency."""
    owing = await statements.owing_accounts(session, account_id)
    in_sequence = {r.account_id for r in await store.open_steps(session, account_id)}
    held = (await holds.held_accounts(session, [a.account_id for a in owing])).statements
    for acct in owing:
        account = acct.account_id
        if account in in_sequence | held | cycle.stepped or await plans.has_active_plan(session, account):
            continue
        referral = await collections.latest_referral(session, account)
        if referral is not None and referral.recalled_at is None:
            continue
        sequence = await store.start_sequence(session, account, cycle.as_of, cycle.now)
        await _statement(session, cycle, sequence, 1, account, None)


async def _statement(
    session: AsyncSession, cycle: _Cycle, sequence: uuid.UUID, step: int, account: str, first_due: date | None
) -> None:
    """A statement step: a statement dated the cycle's date (never before a service on it: a
    statement run refuses, a background cycle waits), past due once the first was due."""
    (owing,) = await statements.owing_accounts(session, account) or [None]
    if owing is None:
        return
    if owing.last_service_date and owing.last_service_date > cycle.as_of and not cycle.strict:
        return
    statement_usecases.refuse_backdated(cycle.as_of, [owing.last_service_date])
    notice = cycle.notice(account)
    issued = await statement_usecases.issue(
        session, account, owing.due, cycle.as_of, notice_id=notice.id, past_due_since=first_due
    )
    if issued is None:
        return  # the account has a statement of this date already
    statement_id, due_date = issued
    await _record(session, cycle, sequence, step, account, "statement", statement_id=statement_id)
    part = domain.statement_part(step, statement_id, owing.due, due_date, first_due, cycle.as_of)
    notice.parts.append(part)
    cycle.result.statements_issued.append(statement_id)
    if part.kind == "past_due_statement":
        assert first_due is not None and part.days_late is not None
        late = PaymentLate(
            account_id=account,
            amount=owing.due,
            due_date=first_due,
            days_late=part.days_late,
            notice_id=notice.id,
        )
        add_event(session, new_event(late))
        cycle.result.balances_late += 1


async def _final_notice(
    session: AsyncSession,
    cycle: _Cycle,
    sequence: uuid.UUID,
    step: int,
    account: str,
    reason: str,
    plan_id: uuid.UUID | None = None,
) -> None:
    owed = (await account_summary(session, account, cycle.as_of)).patient_due
    collections_on = cycle.as_of + timedelta(days=cycle.policy.waiting_days)
    agency = payments_settings().collections_agency
    await _record(session, cycle, sequence, step, account, "final_notice", reason=reason, plan_id=plan_id)
    cycle.notice(account).parts.append(domain.final_notice_part(step, owed, agency, collections_on, plan_id))
    cycle.result.final_notices.append(account)


async def _refer(
    session: AsyncSession, cycle: _Cycle, sequence: uuid.UUID, step: int, account: str, final: Any
) -> None:
    """The sequence's last step: the referral, for the reason the final notice gave."""
    notice = cycle.notice(account)
    balance = await collections.refer(session, account, final.plan_id, final.reason, cycle.now, notice.id)
    if balance is None:
        return
    await _record(
        session, cycle, sequence, step, account, "collections", reason=final.reason, plan_id=final.plan_id
    )
    await store.close(session, sequence, cycle.as_of, "referred")
    agency = payments_settings().collections_agency
    notice.parts.append(NoticePart(kind="sent_to_collections", amount=balance, agency=agency, step=step))
    cycle.result.sent_to_collections.append(account)


async def _record(
    session: AsyncSession,
    cycle: _Cycle,
    sequence: uuid.UUID,
    step: int,
    account: str,
    kind: str,
    **values: Any,
) -> None:
    await store.add_step(
        session,
        sequence_id=sequence,
        step=step,
        account_id=account,
        kind=kind,
        step_date=cycle.as_of,
        notice_id=cycle.notice(account).id,
        recorded_at=cycle.now,
        **values,
    )
    cycle.stepped.add(account)


async def _publish(session: AsyncSession, cycle: _Cycle) -> None:
    """One `account_notice.issued` per account told anything in this cycle, parts in order."""
    for account, notice in sorted(cycle.notices.items()):
        if not notice.parts:
            continue
        balance = (await account_summary(session, account, cycle.as_of)).patient_due
        event = AccountNoticeIssued(
            notice_id=notice.id,
            account_id=account,
            cycle_date=cycle.as_of,
            balance=balance,
            parts=notice.ordered(),
            issued_at=cycle.now,
        )
        add_event(session, new_event(event))
        cycle.result.notices += 1


async def dunning_history(session: AsyncSession, account_id: str) -> DunningOut:
    """Every recorded step of the account, where it stands and what comes next."""
    rows = await store.history(session, account_id)
    steps = [StepOut.model_validate(r, from_attributes=True) for r in rows]
    referral = await collections.latest_referral(session, account_id)
    open_steps: Sequence[Any] = await store.open_steps(session, account_id)
    on_hold = await holds.held_accounts(session, [account_id])
    kind = _next_kind(open_steps) if open_steps else None
    held = on_hold.from_step(account_id, kind) or await plans.has_active_plan(session, account_id)
    next_step = None
    if referral is not None and referral.recalled_at is None:
        status = "referred"
    elif open_steps:
        status = "paused" if held else "active"
        if kind:
            next_step = NextStep(kind=kind, on_or_after=_next_date(open_steps))
    elif referral is not None:
        status = "recalled"
    else:
        status = "paused" if held and steps else "none"
    return DunningOut(account_id=account_id, status=status, next_step=next_step, steps=steps)  # type: ignore[arg-type]


def _next_kind(taken: Sequence[Any]) -> str | None:
    return Policy.of(payments_settings()).next_step(taken, date.max - timedelta(days=1))


def _next_date(taken: Sequence[Any]) -> date:
    """The first date the next step's time has come (searched day by day from the last step)."""
    policy, day = Policy.of(payments_settings()), taken[-1].step_date
    while policy.next_step(taken, day) is None:
        day += timedelta(days=1)
    return day
