"""Asking for and giving a second person's approval.

A sub-domain registers, once, what runs when an approval of its kind is granted
(`@executor("adjustment")`); its endpoint then stores the command with `request_approval`
instead of running it and answers 202 (`pending_response`). Approving runs the command in
the approver's transaction, under a row lock, so it runs at most once, and never for the
person who asked."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.approvals import store
from services.payments.approvals.schemas import ApprovalOut
from services.payments.approvals.tables import Approval
from shared.paging import DateRange, PageQuery
from shared.problems import FieldError, ProblemError

Executor = Callable[[AsyncSession, dict[str, Any], Approval], Awaitable[dict[str, Any]]]
_EXECUTORS: dict[str, Executor] = {}


def executor(kind: str) -> Callable[[Executor], Executor]:
    """Register what an approved command of `kind` does; one executor per kind."""

    def register(run: Executor) -> Executor:
        if _EXECUTORS.get(kind, run) is not run:
            raise RuntimeError(f"approval kind {kind!r} registered twice")
        _EXECUTORS[kind] = run
        return run

    return register


async def request_approval(
    session: AsyncSession,
    *,
    kind: str,
    subject: str,
    command: dict[str, Any],
    summary: dict[str, Any],
    reason: str,
    actor: str,
) -> Approval:
    """Store a command for a second person, in the caller's transaction (nothing runs yet)."""
    if kind not in _EXECUTORS:
        raise RuntimeError(f"no executor for approval kind {kind!r}")
    row = Approval(
        id=uuid.uuid4(),
        kind=kind,
        subject=subject,
        command=command,
        summary=summary,
        reason=reason,
        requested_by=actor,
        requested_at=datetime.now(UTC),
    )
    await store.insert(session, row)
    return row


def pending_response(row: Approval) -> JSONResponse:
    """The 202 a request that needs approval answers, pointing at the approval."""
    body = ApprovalOut.model_validate(row, from_attributes=True).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": f"/v1/approvals/{row.id}"})


def _not_pending(row: Approval) -> ProblemError:
    return ProblemError(
        409, "already-decided", "This approval was already decided", f"It is {row.status}.", retryable=False
    )


async def approve(
    session: AsyncSession, approval_id: uuid.UUID, actor: str, note: str | None
) -> Approval | None:
    """Run the stored command and close the approval, in one transaction; None if unknown.
    The requester cannot approve their own request (403), a decided one cannot run again
    (409), and a command that is no longer valid (its executor raises a ProblemError) leaves
    the approval pending and says why."""
    async with session.begin():
        row = await store.get(session, approval_id, lock=True)
        if row is None:
            return None
        if row.status != "pending":
            raise _not_pending(row)
        if row.requested_by == actor:
            raise ProblemError(
                403,
                "same-person",
                "A second person must approve this",
                errors=[FieldError(field="actor", rule="four_eyes", message="The requester cannot approve.")],
            )
        executor = _EXECUTORS.get(row.kind)
        if executor is None:  # a kind this release no longer runs: it stays pending, never a 500
            raise ProblemError(
                409,
                "approval-cannot-run",
                "This kind of approval cannot run here",
                "Nothing was done; reject it and request the change again.",
                errors=[FieldError(field="kind", rule="known_kind", message="No such command is known.")],
            )
        result = await executor(session, dict(row.command), row)
        await store.decide(
            session,
            approval_id,
            status="approved",
            actor=actor,
            when=datetime.now(UTC),
            note=note,
            result=result,
        )
    await session.refresh(row)
    return row


async def reject(
    session: AsyncSession, approval_id: uuid.UUID, actor: str, note: str | None
) -> Approval | None:
    """Close a pending approval without running it (the requester may withdraw their own)."""
    async with session.begin():
        row = await store.get(session, approval_id, lock=True)
        if row is None:
            return None
        if row.status != "pending":
            raise _not_pending(row)
        await store.decide(
            session,
            approval_id,
            status="rejected",
            actor=actor,
            when=datetime.now(UTC),
            note=note,
            result=None,
        )
    await session.refresh(row)
    return row


async def get(session: AsyncSession, approval_id: uuid.UUID) -> Approval | None:
    """One approval, or None."""
    return await store.get(session, approval_id)


async def page(
    session: AsyncSession, page: PageQuery, dates: DateRange, *, status: str | None, kind: str | None
) -> tuple[Sequence[Any], str | None]:
    """One page of the approvals queue, oldest first."""
    return await store.page(session, page, dates, status=status, kind=kind)
